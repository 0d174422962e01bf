/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

gboolean tsr_uri_is_local (const char *uri);

G_END_DECLS

/* An advisory lock shared by every Tessera process of this machine, under
 * any account (a file in /run/lock, else /tmp, that anyone may open):
 * the file descriptor to give to tsr_local_lock_release(), or -1 where no
 * lock could be taken (the caller then relies on its other checks).
 * Blocks until the lock is free: workers only.
 */
int      tsr_local_lock_acquire (const char *key);
/* The lock of a VM name on this machine: creating or cloning to NAME. */
int      tsr_local_lock_name    (const char *name);
void     tsr_local_lock_release (int         fd);
