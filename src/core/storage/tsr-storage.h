/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

/* The pool Tessera makes when a VM needs one and none is named. */
#define TSR_DEFAULT_POOL       "tessera"
#define TSR_DEFAULT_POOL_PATH  "/var/lib/tessera/images"/* A VM's UEFI variables (NVRAM) copied to DST, private to its owner, for
 * a clone or an AppVM of a template; nothing when SRC does not exist yet
 * (never started: the new VM gets fresh ones too). *COPIED says whether a
 * file was written.
 */
gboolean tsr_storage_copy_nvram (const char  *src,
                                 const char  *dst,
                                 gboolean    *copied,
                                 GError     **error);


