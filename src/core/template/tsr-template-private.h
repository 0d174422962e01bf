/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include <glib.h>
#include <libvirt/libvirt.h>
#include <libxml/tree.h>

#include "tsr-journal.h"

G_BEGIN_DECLS

/* What tsr-template.c (the chain, commits, starts) and
 * tsr-template-revisions.c (pruning, revert, the volume list) share.
 */

/* One root revision of a template, as its metadata records it:
 *   <revision n committed format [allocation] [pruning]>PATH</revision>
 */
typedef struct
{
  guint    n;
  gboolean committed;
  gboolean pruning;             /* being merged into the bottom of the chain */
  char    *path;
  char    *format;
  guint64  created_allocation;  /* of an uncommitted overlay when it was made */
} TsrRevision;

void         tsr_revision_free                 (gpointer       p);
GPtrArray   *tsr_template_read_revisions       (xmlNodePtr     root);
void         tsr_template_write_revisions      (xmlNodePtr     root,
                                                GPtrArray     *revisions);
TsrRevision *tsr_template_newest_committed     (GPtrArray     *revisions);

xmlNodePtr   tsr_template_vm_node              (xmlNodePtr     root,
                                                gboolean       create);
char        *tsr_template_metadata_text        (xmlNodePtr     root,
                                                const char    *name);
void         tsr_template_set_metadata_text    (xmlNodePtr     root,
                                                const char    *name,
                                                const char    *value);
xmlDocPtr    tsr_template_read_definition      (virDomainPtr   dom,
                                                GError       **error);
gboolean     tsr_template_write_definition     (virConnectPtr  conn,
                                                xmlDocPtr      doc,
                                                GError       **error);
xmlNodePtr   tsr_template_find_disk            (xmlNodePtr     root,
                                                const char    *dev);
char        *tsr_template_disk_path            (virConnectPtr  conn,
                                                xmlNodePtr     disk);
void         tsr_template_set_disk_file        (xmlNodePtr     disk,
                                                const char    *path,
                                                const char    *format);
guint64      tsr_template_allocation_of        (virConnectPtr  conn,
                                                const char    *path);
char        *tsr_template_make_volume          (virConnectPtr  conn,
                                                const char    *pool_of,
                                                const char    *name,
                                                const char    *base,
                                                const char    *base_format,
                                                guint64        capacity,
                                                TsrJournal    *journal,
                                                GError       **error);

/* tsr-template-revisions.c */

/* Merges the committed revisions beyond the template's revisions_to_keep
 * into the bottom of its chain, when no running VM uses what changes.
 * TPL is halted and settled; failures are reported, never fatal. TRUE
 * when the definition changed.
 */
gboolean     tsr_template_prune_sync           (virDomainPtr   tpl);

G_END_DECLS
