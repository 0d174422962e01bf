/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include "tsr-connection.h"

G_BEGIN_DECLS

typedef struct _TsrEventCtx TsrEventCtx;

/* For tests only: the raw libvirt handle, to make changes behind the
 * connection's back and watch them arrive as events. NULL while
 * disconnected.
 */
gpointer tsr_connection_get_handle (TsrConnection *self);

G_END_DECLS
