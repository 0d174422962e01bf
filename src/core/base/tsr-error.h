/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include <gio/gio.h>

G_BEGIN_DECLS

#define TSR_ERROR (tsr_error_quark ())

typedef enum
{
  TSR_ERROR_FAILED,
  TSR_ERROR_INVALID_NAME,
  TSR_ERROR_NAME_IN_USE,
  TSR_ERROR_INVALID_MAC,
  TSR_ERROR_MAC_IN_USE,
  TSR_ERROR_INVALID_VALUE,
  TSR_ERROR_NOT_SUPPORTED,
  TSR_ERROR_VM_RUNNING,
  TSR_ERROR_VM_NOT_RUNNING,
  TSR_ERROR_MEDIA_NOT_FOUND,
  TSR_ERROR_NOT_FOUND,
  TSR_ERROR_CONNECTION,
  TSR_ERROR_NO_ADDRESS,
  TSR_ERROR_TIMED_OUT,
  TSR_ERROR_CANCELLED,
  TSR_ERROR_IN_USE,
} TsrError;

GQuark   tsr_error_quark            (void);
void     tsr_error_set_from_libvirt (GError     **error,
                                     const char  *what);
gboolean tsr_error_last_is_not_found (void);
void     tsr_error_set_connect_failed (GError    **error,
                                       const char *uri);
void     tsr_error_set_not_connected (GError    **error,
                                      const char *uri);
gboolean tsr_error_set_if_cancelled  (GCancellable *cancellable,
                                      const char   *message,
                                      GError      **error);

G_END_DECLS
