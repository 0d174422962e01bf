/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

/* Adds /integration/start/media-inside-another-vm: WORK_DIR holds the
 * guest fixture (vmlinuz, initramfs.img, installer.iso); CLI is the folder
 * of the qvm-* commands.
 */
void tsr_it_add_media_vm_tests (const char *work_dir,
                                const char *cli);

G_END_DECLS
