/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include <gio/gio.h>
#include <libvirt/libvirt.h>

#include "tsr-journal.h"
#include "tsr-media.h"
#include "tsr-progress.h"

G_BEGIN_DECLS

/* Install media inside another VM (`--cdrom=VM:/path`), the Qubes way: the
 * host never mounts, parses or keeps the image. The running source VM's
 * QEMU guest agent reads the file (guest-file-open / -read); the bytes go
 * straight into a new volume of Tessera's pool through a libvirt stream,
 * named tessera-media-TARGET-XXXXXXXX.iso, which the target boots from
 * once and which is deleted when the target stops (by the window at once,
 * else by the next Tessera that connects). Blocks; workers only.
 */

#define TSR_MEDIA_COPY_PREFIX "tessera-media-"

/* Checks the source (exists, running, its agent answers, PATH is a file
 * that is not empty), then copies it for TARGET's boot; sets MEDIA->path
 * to the copy's path and returns the copy's volume name. Cancelling, or
 * any failure, leaves no volume behind. The copy is written in JOURNAL
 * (the caller's record, ended once the target runs): a crash before that
 * leaves it to recovery. PROGRESS hears the bytes copied.
 */
char    *tsr_media_vm_fetch        (virConnectPtr   conn,
                                    TsrMedia       *media,
                                    const char     *target,
                                    TsrJournal     *journal,
                                    TsrProgress    *progress,
                                    GCancellable   *cancellable,
                                    GError        **error);

/* Deletes the copy NAME (a failed start, or a target that stopped). */
void     tsr_media_vm_drop         (virConnectPtr   conn,
                                    const char     *name);

/* Deletes every copy in Tessera's pool that no running domain uses and
 * that no running Tessera operation (LIVE: its records, TsrJournalRecord;
 * NULL to read them) is making. Adds a line to REPORT (may be NULL) for
 * each one deleted. Returns how many were deleted.
 */
guint    tsr_media_vm_sweep_sync   (virConnectPtr   conn,
                                    GPtrArray      *live,
                                    GPtrArray      *report);

G_END_DECLS
