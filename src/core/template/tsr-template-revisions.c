/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "config.h"

#include <string.h>
#include <glib/gi18n-lib.h>
#include <gio/gio.h>
#include <libvirt/libvirt.h>
#include <libvirt/virterror.h>

#include "tsr-error.h"
#include "tsr-journal.h"
#include "tsr-libvirt-private.h"
#include "tsr-template.h"
#include "tsr-template-private.h"
#include "tsr-threads.h"
#include "tsr-xml-private.h"

/* Pruning old revisions, going back one (qvm-volume revert) and the
 * volume list (qvm-volume list).
 *
 * Every revision is a qcow2 overlay on the one before, so an old revision
 * cannot simply be deleted: the newer ones read through it. Pruning merges
 * the revisions to drop into the bottom of the chain instead (qemu-img
 * commit, which copies only what they changed, then an O(1) rebase of the
 * next revision onto the bottom), and only while no running VM has any of
 * the files that change in its chain; otherwise it waits for the next
 * commit. The merge is redone from the start when it was interrupted: the
 * revisions being merged are marked first (pruning="yes"), and committing
 * them into the bottom again gives the same result.
 */

guint
tsr_template_revisions_to_keep (const char *template_xml)
{
  g_autoptr(xmlDoc) doc = template_xml ? tsr_xml_parse (template_xml) : NULL;
  xmlNodePtr root = doc ? xmlDocGetRootElement (doc) : NULL;
  g_autofree char *text = root ? tsr_template_metadata_text (root, "revisions-to-keep") : NULL;

  return text ? (guint) g_ascii_strtoull (text, NULL, 10) : TSR_TEMPLATE_DEFAULT_KEEP;
}

/* The files each running domain reads, its disks' backing chains included
 * (live XML), mapped to the domain's name.
 */
static void
add_sources (xmlNodePtr  node,
             const char *name,
             GHashTable *paths)
{
  for (xmlNodePtr n = node->children; n != NULL; n = n->next)
    {
      if (n->type != XML_ELEMENT_NODE)
        continue;
      if (tsr_xml_is (n, "source"))
        {
          char *file = tsr_xml_prop (n, "file");

          if (file != NULL)
            g_hash_table_insert (paths, file, g_strdup (name));
        }
      add_sources (n, name, paths);
    }
}

static GHashTable *
running_paths (virConnectPtr conn)
{
  GHashTable *paths = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_free);
  virDomainPtr *doms = NULL;
  int n = virConnectListAllDomains (conn, &doms, VIR_CONNECT_LIST_DOMAINS_ACTIVE);

  for (int i = 0; i < n; i++)
    {
      g_autofree char *xml = virDomainGetXMLDesc (doms[i], 0);
      g_autoptr(xmlDoc) doc = xml ? tsr_xml_parse (xml) : NULL;
      xmlNodePtr devices = doc ? tsr_xml_child (xmlDocGetRootElement (doc), "devices") : NULL;

      for (xmlNodePtr d = devices ? devices->children : NULL; d != NULL; d = d->next)
        if (tsr_xml_is (d, "disk"))
          add_sources (d, virDomainGetName (doms[i]), paths);
      virDomainFree (doms[i]);
    }
  free (doms);
  virResetLastError ();
  return paths;
}

static gboolean
qemu_img (GError **error,
          ...) G_GNUC_NULL_TERMINATED;

static gboolean
qemu_img (GError **error,
          ...)
{
  g_autoptr(GPtrArray) argv = g_ptr_array_new ();
  g_autoptr(GSubprocess) proc = NULL;
  g_autofree char *err = NULL;
  const char *arg;
  va_list ap;

  g_ptr_array_add (argv, (gpointer) "qemu-img");
  va_start (ap, error);
  while ((arg = va_arg (ap, const char *)) != NULL)
    g_ptr_array_add (argv, (gpointer) arg);
  va_end (ap);
  g_ptr_array_add (argv, NULL);

  proc = g_subprocess_newv ((const char * const *) argv->pdata,
                            G_SUBPROCESS_FLAGS_STDOUT_SILENCE | G_SUBPROCESS_FLAGS_STDERR_PIPE,
                            error);
  if (proc == NULL || !g_subprocess_communicate_utf8 (proc, NULL, NULL, NULL, &err, error))
    return FALSE;
  if (!g_subprocess_get_successful (proc))
    {
      g_set_error (error, TSR_ERROR, TSR_ERROR_FAILED, _("qemu-img %s failed: %s"),
                   (const char *) g_ptr_array_index (argv, 1), err ? g_strstrip (err) : "");
      return FALSE;
    }
  return TRUE;
}

static void
journal_path (TsrJournal    *journal,
              virConnectPtr  conn,
              const char    *path)
{
  g_autoptr(virStorageVol) vol = virStorageVolLookupByPath (conn, path);
  g_autoptr(virStoragePool) pool = vol ? virStoragePoolLookupByVolume (vol) : NULL;

  if (pool != NULL)
    tsr_journal_volume (journal, virStoragePoolGetName (pool), virStorageVolGetName (vol), path);
  virResetLastError ();
}

static void
delete_path (virConnectPtr  conn,
             const char    *path)
{
  g_autoptr(virStorageVol) vol = virStorageVolLookupByPath (conn, path);

  if (vol == NULL || virStorageVolDelete (vol, 0) < 0)
    g_message ("could not delete old revision %s: %s", path, virGetLastErrorMessage ());
  virResetLastError ();
}

/* Halted AppVMs and DisposableVMs of TEMPLATE whose (stale) root overlay
 * was made on one of GONE: it is rebased onto NEW_BASE (O(1), its content
 * is thrown away at its next start anyway) so that no file names a
 * deleted one, and their record of the base follows.
 */
static void
rebase_stale_overlays (virConnectPtr  conn,
                       const char    *template_name,
                       GHashTable    *gone,
                       const char    *new_base,
                       const char    *new_format)
{
  virDomainPtr *doms = NULL;
  int n = virConnectListAllDomains (conn, &doms, VIR_CONNECT_LIST_DOMAINS_INACTIVE);

  for (int i = 0; i < n; i++)
    {
      g_autoptr(GError) error = NULL;
      g_autoptr(xmlDoc) doc = tsr_template_read_definition (doms[i], NULL);
      xmlNodePtr root = doc ? xmlDocGetRootElement (doc) : NULL;
      g_autofree char *tpl = root ? tsr_template_metadata_text (root, "template") : NULL;
      g_autofree char *base = root ? tsr_template_metadata_text (root, "base") : NULL;
      xmlNodePtr disk = root ? tsr_template_find_disk (root, NULL) : NULL;
      g_autofree char *overlay = disk ? tsr_template_disk_path (conn, disk) : NULL;

      if (g_strcmp0 (tpl, template_name) == 0 && base != NULL && g_hash_table_contains (gone, base))
        {
          xmlNodePtr vm = tsr_template_vm_node (root, TRUE);

          if (overlay != NULL && g_file_test (overlay, G_FILE_TEST_EXISTS) &&
              !qemu_img (&error, "rebase", "-u", "-f", "qcow2", "-F", new_format, "-b", new_base,
                         overlay, NULL))
            g_message ("%s", error->message);
          tsr_xml_set_text (tsr_xml_child (vm, "base"), new_base);
          g_clear_error (&error);
          if (!tsr_template_write_definition (conn, doc, &error))
            g_message ("%s", error->message);
        }
      virDomainFree (doms[i]);
    }
  free (doms);
  virResetLastError ();
}

/* Which revisions go: the committed ones before the newest KEEP + 1, or
 * the ones an interrupted prune marked. Returns the index (in REVISIONS)
 * of the oldest one kept, which takes over the bottom's file; 0 when
 * nothing goes.
 */
static guint
prune_point (GPtrArray *revisions,
             guint      keep)
{
  guint n_committed = 0, marked = 0, drop, seen = 0;

  for (guint i = 0; i < revisions->len; i++)
    {
      TsrRevision *r = g_ptr_array_index (revisions, i);

      n_committed += r->committed;
      marked += r->pruning;
    }
  drop = n_committed > keep + 1 ? n_committed - keep - 1 : 0;
  drop = MAX (drop, marked);
  if (drop == 0)
    return 0;
  for (guint i = 0; i < revisions->len; i++)
    if (((TsrRevision *) g_ptr_array_index (revisions, i))->committed && seen++ == drop)
      return i;
  return 0;
}

/* The merge itself: everything above the bottom up to KEPT goes into the
 * bottom, and the revision after KEPT now reads the bottom.
 */
static gboolean
merge_down (GPtrArray  *revisions,
            guint       kept,
            GError    **error)
{
  TsrRevision *bottom = g_ptr_array_index (revisions, 0);
  TsrRevision *top = g_ptr_array_index (revisions, kept);
  TsrRevision *next = g_ptr_array_index (revisions, kept + 1);

  return qemu_img (error, "commit", "-q", "-d", "-f", "qcow2", "-b", bottom->path, top->path,
                   NULL) &&
         qemu_img (error, "rebase", "-u", "-f", "qcow2", "-F", bottom->format, "-b",
                   bottom->path, next->path, NULL);
}

static gboolean
prune (virDomainPtr   tpl,
       gboolean      *changed,
       GError       **error)
{
  virConnectPtr conn = virDomainGetConnect (tpl);
  g_autoptr(xmlDoc) doc = NULL;
  g_autoptr(GPtrArray) revisions = NULL;
  g_autoptr(GHashTable) running = NULL;
  g_autoptr(GHashTable) gone = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  g_autoptr(TsrJournal) journal = NULL;
  g_autofree char *keep_text = NULL;
  xmlNodePtr root;
  TsrRevision *bottom, *kept;
  guint point;

  if (!(doc = tsr_template_read_definition (tpl, error)))
    return FALSE;
  root = xmlDocGetRootElement (doc);
  revisions = tsr_template_read_revisions (root);
  keep_text = tsr_template_metadata_text (root, "revisions-to-keep");
  point = prune_point (revisions, keep_text ? (guint) g_ascii_strtoull (keep_text, NULL, 10)
                                            : TSR_TEMPLATE_DEFAULT_KEEP);
  if (point == 0 || point + 1 >= revisions->len)
    return TRUE;

  /* What changes must not be read by a running VM. */
  running = running_paths (conn);
  for (guint i = 0; i <= point + 1; i++)
    {
      TsrRevision *r = g_ptr_array_index (revisions, i);
      const char *user = g_hash_table_lookup (running, r->path);

      if (user != NULL)
        {
          g_info ("%s: revisions kept for now: “%s” runs on %s", virDomainGetName (tpl), user,
                  r->path);
          return TRUE;
        }
    }

  bottom = g_ptr_array_index (revisions, 0);
  kept = g_ptr_array_index (revisions, point);
  journal = tsr_journal_begin_for (conn, "template prune", virDomainGetName (tpl));
  for (guint i = 1; i <= point; i++)
    {
      TsrRevision *r = g_ptr_array_index (revisions, i);

      journal_path (journal, conn, r->path);
      g_hash_table_add (gone, g_strdup (r->path));
    }
  for (guint i = 0; i < point; i++)
    ((TsrRevision *) g_ptr_array_index (revisions, i))->pruning = TRUE;
  tsr_template_write_revisions (root, revisions);
  if (!tsr_template_write_definition (conn, doc, error))
    return FALSE;
  tsr_journal_step ("template:prune-marked");

  *changed = TRUE;
  if (!merge_down (revisions, point, error))
    return FALSE;
  rebase_stale_overlays (conn, virDomainGetName (tpl), gone, bottom->path, bottom->format);

  /* The bottom's file now holds revision KEPT. */
  g_free (kept->path);
  kept->path = g_strdup (bottom->path);
  g_free (kept->format);
  kept->format = g_strdup (bottom->format);
  g_ptr_array_remove_range (revisions, 0, point);
  tsr_template_write_revisions (root, revisions);
  if (!tsr_template_write_definition (conn, doc, error))
    return FALSE;
  tsr_journal_commit (journal);
  tsr_journal_step ("template:pruned");
  {
    GHashTableIter iter;
    gpointer path;

    g_hash_table_iter_init (&iter, gone);
    while (g_hash_table_iter_next (&iter, &path, NULL))
      delete_path (conn, path);
  }
  g_info ("%s: merged %u old revisions into %s", virDomainGetName (tpl), point, kept->path);
  return TRUE;
}

gboolean
tsr_template_prune_sync (virDomainPtr tpl)
{
  g_autoptr(GError) error = NULL;
  gboolean changed = FALSE;

  tsr_assert_worker_thread ();
  if (!prune (tpl, &changed, &error))
    g_message ("%s: old revisions not pruned (tried again at the next commit): %s",
               virDomainGetName (tpl), error->message);
  return changed;
}

/* Going back one revision */

static gboolean
check_revert (virDomainPtr   tpl,
              GPtrArray     *revisions,
              GError       **error)
{
  const char *name = virDomainGetName (tpl);
  guint n_committed = 0;

  for (guint i = 0; i < revisions->len; i++)
    {
      TsrRevision *r = g_ptr_array_index (revisions, i);

      n_committed += r->committed && !r->pruning;
    }
  if (n_committed < 2)
    {
      g_set_error (error, TSR_ERROR, TSR_ERROR_INVALID_VALUE,
                   _("“%s:root” has no older revision to go back to (revisions_to_keep keeps "
                     "that many old ones: qvm-prefs %s revisions_to_keep N)."), name, name);
      return FALSE;
    }
  return TRUE;
}

gboolean
tsr_template_revert_sync (virDomainPtr   tpl,
                          guint         *revision,
                          GError       **error)
{
  virConnectPtr conn = virDomainGetConnect (tpl);
  const char *name = virDomainGetName (tpl);
  g_autoptr(xmlDoc) doc = NULL;
  g_autoptr(GPtrArray) revisions = NULL;
  g_autoptr(GHashTable) running = NULL;
  g_autoptr(TsrJournal) journal = NULL;
  g_autofree char *vol_name = NULL;
  g_autofree char *overlay = NULL;
  xmlNodePtr root, disk;
  TsrRevision *newest, *previous, *top, *next;
  const char *user;

  tsr_assert_worker_thread ();
  if (virDomainIsActive (tpl) == 1)
    {
      g_set_error (error, TSR_ERROR, TSR_ERROR_VM_RUNNING,
                   _("“%s” is running: shut it down (qvm-shutdown --wait %s) before reverting "
                     "its root."), name, name);
      return FALSE;
    }
  /* What the template did since its last commit counts as committed. */
  if (!tsr_template_settle_sync (tpl, NULL, NULL, NULL, error))
    return FALSE;
  if (!(doc = tsr_template_read_definition (tpl, error)))
    return FALSE;
  root = xmlDocGetRootElement (doc);
  revisions = tsr_template_read_revisions (root);
  if (!check_revert (tpl, revisions, error))
    return FALSE;
  if (!(disk = tsr_template_find_disk (root, NULL)))
    {
      g_set_error (error, TSR_ERROR, TSR_ERROR_NOT_SUPPORTED, _("“%s” has no root disk."), name);
      return FALSE;
    }

  top = g_ptr_array_index (revisions, revisions->len - 1);
  newest = g_ptr_array_index (revisions, revisions->len - 2);
  previous = g_ptr_array_index (revisions, revisions->len - 3);
  running = running_paths (conn);
  if ((user = g_hash_table_lookup (running, newest->path)) != NULL)
    {
      g_set_error (error, TSR_ERROR, TSR_ERROR_VM_RUNNING,
                   _("“%s” runs on revision %u of “%s”: shut it down (qvm-shutdown --wait %s) "
                     "before reverting."), user, newest->n, name, user);
      return FALSE;
    }

  /* A fresh overlay on the previous revision, beside the others; the
   * switch is one definition; the newest revision and the old overlay go
   * after it.
   */
  journal = tsr_journal_begin_for (conn, "template revert", name);
  journal_path (journal, conn, newest->path);
  journal_path (journal, conn, top->path);
  vol_name = g_strdup_printf ("%s-root.%u.qcow2", name, top->n + 1);
  if (!(overlay = tsr_template_make_volume (conn, top->path, vol_name, previous->path,
                                            previous->format, 0, journal, error)))
    return FALSE;
  tsr_journal_step ("template:revert-overlay");
  next = g_new0 (TsrRevision, 1);
  next->n = top->n + 1;
  next->path = g_strdup (overlay);
  next->format = g_strdup ("qcow2");
  next->created_allocation = tsr_template_allocation_of (conn, overlay);
  {
    g_autofree char *old_newest = g_strdup (newest->path);
    g_autofree char *old_top = g_strdup (top->path);
    guint back_to = previous->n;

    g_ptr_array_set_size (revisions, revisions->len - 2);
    g_ptr_array_add (revisions, next);
    tsr_template_write_revisions (root, revisions);
    tsr_template_set_disk_file (disk, overlay, "qcow2");
    if (!tsr_template_write_definition (conn, doc, error))
      return FALSE;
    tsr_journal_commit (journal);
    delete_path (conn, old_top);
    delete_path (conn, old_newest);
    {
      g_autoptr(GHashTable) gone = g_hash_table_new (g_str_hash, g_str_equal);

      g_hash_table_add (gone, old_newest);
      rebase_stale_overlays (conn, name, gone, previous->path, previous->format);
    }
    if (revision != NULL)
      *revision = back_to;
  }
  return TRUE;
}

/* The volume list */

void
tsr_volume_row_free (TsrVolumeRow *row)
{
  if (row == NULL)
    return;
  g_free (row->pool);
  g_free (row->volume);
  g_free (row->vm);
  g_free (row->name);
  g_free (row);
}

static const char *
role_of (const char *klass,
         const char *target,
         guint       index)
{
  gboolean app = g_strcmp0 (klass, "AppVM") == 0 || g_strcmp0 (klass, "DispVM") == 0;

  if (index == 0)
    return "root";
  if (app && g_strcmp0 (target, "vdb") == 0)
    return "private";
  if (app && g_strcmp0 (target, "vdc") == 0)
    return "volatile";
  return target;
}

static void
fill_row (virConnectPtr  conn,
          TsrVolumeRow  *row,
          const char    *path)
{
  g_autoptr(virStorageVol) vol = path ? virStorageVolLookupByPath (conn, path) : NULL;
  g_autoptr(virStoragePool) pool = vol ? virStoragePoolLookupByVolume (vol) : NULL;
  virStorageVolInfo info = { 0 };

  row->pool = g_strdup (pool ? virStoragePoolGetName (pool) : "-");
  row->volume = g_strdup (vol ? virStorageVolGetName (vol) : path);
  if (vol != NULL && virStorageVolGetInfo (vol, &info) == 0)
    row->size = info.capacity;
  virResetLastError ();
}

GPtrArray *
tsr_template_volumes_sync (virDomainPtr   dom,
                           GError       **error)
{
  virConnectPtr conn = virDomainGetConnect (dom);
  g_autoptr(xmlDoc) doc = NULL;
  g_autoptr(GPtrArray) rows = g_ptr_array_new_with_free_func ((GDestroyNotify) tsr_volume_row_free);
  g_autoptr(GPtrArray) revisions = NULL;
  g_autofree char *klass = NULL;
  xmlNodePtr root, devices;
  guint index = 0, n_committed = 0;

  tsr_assert_worker_thread ();
  if (!(doc = tsr_template_read_definition (dom, error)))
    return NULL;
  root = xmlDocGetRootElement (doc);
  klass = tsr_template_metadata_text (root, "class");
  revisions = tsr_template_read_revisions (root);
  for (guint i = 0; i < revisions->len; i++)
    {
      TsrRevision *r = g_ptr_array_index (revisions, i);

      n_committed += r->committed && !r->pruning;
    }

  devices = tsr_xml_child (root, "devices");
  for (xmlNodePtr n = devices ? devices->children : NULL; n != NULL; n = n->next)
    {
      g_autofree char *device = tsr_xml_prop (n, "device");
      g_autofree char *target = tsr_xml_find_prop (n, "target", "dev");
      g_autofree char *path = NULL;
      TsrVolumeRow *row;

      if (!tsr_xml_is (n, "disk") || (device != NULL && !g_str_equal (device, "disk")))
        continue;
      path = tsr_template_disk_path (conn, n);
      row = g_new0 (TsrVolumeRow, 1);
      row->vm = g_strdup (virDomainGetName (dom));
      row->name = g_strdup (role_of (klass, target, index));
      row->revert_possible = index == 0 && g_strcmp0 (klass, "TemplateVM") == 0 &&
                             n_committed >= 2;
      /* A template's root is shown as its newest committed revision. */
      if (index == 0 && g_strcmp0 (klass, "TemplateVM") == 0 && n_committed > 0)
        fill_row (conn, row, tsr_template_newest_committed (revisions)->path);
      else
        fill_row (conn, row, path);
      g_ptr_array_add (rows, row);
      index++;
    }
  return g_steal_pointer (&rows);
}
