/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include "tsr-import.h"
#include "tsr-storage-private.h"

G_BEGIN_DECLS

TsrImportInfo *tsr_import_info_new     (const char    *path);
TsrImportInfo *tsr_import_inspect_sync (const char    *path,
                                        TsrProgress   *progress,
                                        GCancellable  *cancellable,
                                        GError       **error);

G_END_DECLS
