/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include "tsr-choice-row.h"

G_BEGIN_DECLS

#define TSR_TYPE_POOL_ROW (tsr_pool_row_get_type ())

G_DECLARE_FINAL_TYPE (TsrPoolRow, tsr_pool_row, TSR, POOL_ROW, TsrChoiceRow)

void        tsr_pool_row_set_pools (TsrPoolRow         *self,
                                    const char * const *pools);
const char *tsr_pool_row_get_pool  (TsrPoolRow         *self);

G_END_DECLS
