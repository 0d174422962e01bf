/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include "tsr-connection.h"

G_BEGIN_DECLS

typedef struct _TsrEventCtx TsrEventCtx;

G_END_DECLS
