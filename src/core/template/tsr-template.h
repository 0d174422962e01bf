/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include <glib.h>
#include <libvirt/libvirt.h>

G_BEGIN_DECLS

/* Template-based VMs, as in Qubes, on qcow2 overlays.
 *
 * A TemplateVM's root is a chain of revisions: the root it had when it
 * first became a template (revision 0), then one qcow2 overlay per session
 * of the template, each on the one before. The template's disk is always
 * the newest overlay, not yet committed; when the template has shut down,
 * that overlay is committed (a flag in the metadata, no copy: O(1)) and a
 * fresh overlay on it becomes the template's disk. After a crash
 * (destroyed, crashed, failed) the uncommitted overlay is discarded
 * instead. An AppVM boots from a fresh overlay on the newest committed
 * revision, made at each start, so it never sees a half-written root and
 * keeps the revision it booted from until it restarts.
 *
 * The metadata (<tessera:vm>) records the chain on the template:
 *   <revision n="N" committed="yes|no">PATH</revision>…
 * and on an AppVM or DisposableVM:
 *   <template>T</template><booted-revision>N</booted-revision>
 */

/* The newest committed revision of template TPL (a domain): its number,
 * path and format (revision 0 keeps the root's own). A halted template's pending session is committed (or discarded
 * after a crash) first, and a template that never had revisions gets them
 * (its root becomes revision 0). Blocking: workers only.
 */
gboolean tsr_template_settle_sync        (virDomainPtr   tpl,
                                          guint         *revision,
                                          char         **path,
                                          char         **format,
                                          GError       **error);

/* Before DOM starts: a template is settled; an AppVM or DisposableVM gets
 * a fresh root overlay on its template's newest committed revision and a
 * fresh volatile disk, and records the revision. Other VMs: nothing.
 */
gboolean tsr_template_prepare_start_sync (virDomainPtr   dom,
                                          GError       **error);

/* The revision a VM booted from (AppVMs) and its template's newest
 * committed one, from the two definitions' metadata; 0 when unknown.
 */
guint    tsr_template_booted_revision    (const char    *domain_xml);
guint    tsr_template_newest_revision    (const char    *template_xml);

/* How many old committed revisions a template keeps besides its newest
 * (<tessera:revisions-to-keep>), for qvm-volume revert; older ones are
 * merged away at the next commit.
 */
#define TSR_TEMPLATE_DEFAULT_KEEP 1
#define TSR_TEMPLATE_MAX_KEEP     100
guint    tsr_template_revisions_to_keep  (const char    *template_xml);

/* qvm-volume revert TPL:root: the halted template TPL goes back to the
 * revision before its newest committed one (its pending session is
 * committed first); the newest goes. *REVISION is the one it is at now.
 * Refused while TPL or a VM running on the newest revision runs, or when
 * there is none before.
 */
gboolean tsr_template_revert_sync        (virDomainPtr   tpl,
                                          guint         *revision,
                                          GError       **error);

/* A row of qvm-volume list. */
typedef struct
{
  char     *pool;      /* "-" for a file in no pool */
  char     *volume;    /* the volume's name, or the file */
  char     *vm;
  char     *name;      /* root, private, volatile, or the disk's target */
  gboolean  revert_possible;
  guint64   size;      /* capacity in bytes, 0 when unknown */
} TsrVolumeRow;

void       tsr_volume_row_free           (TsrVolumeRow  *row);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (TsrVolumeRow, tsr_volume_row_free)
/* DOM's disks as qvm-volume lists them (a template's root as its newest
 * committed revision). Blocking: workers only.
 */
GPtrArray *tsr_template_volumes_sync     (virDomainPtr   dom,
                                          GError       **error);

/* Volume names of an AppVM's own disks. */
char    *tsr_template_volume_name        (const char    *vm_name,
                                          const char    *role);

G_END_DECLS
