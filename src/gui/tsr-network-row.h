/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include "tsr-choice-row.h"

G_BEGIN_DECLS

#define TSR_TYPE_NETWORK_ROW (tsr_network_row_get_type ())

G_DECLARE_FINAL_TYPE (TsrNetworkRow, tsr_network_row, TSR, NETWORK_ROW, TsrChoiceRow)

void        tsr_network_row_set_networks (TsrNetworkRow      *self,
                                          const char * const *networks);
const char *tsr_network_row_get_network  (TsrNetworkRow      *self);

G_END_DECLS
