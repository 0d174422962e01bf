/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "config.h"

#include <string.h>
#include <glib/gi18n-lib.h>
#include <libvirt/libvirt.h>
#include <libvirt/virterror.h>

#include "tsr-error.h"
#include "tsr-journal.h"
#include "tsr-libvirt-private.h"
#include "tsr-template.h"
#include "tsr-template-private.h"
#include "tsr-threads.h"
#include "tsr-vm.h"
#include "tsr-xml-private.h"

/* Reading and writing the definitions */

xmlNodePtr
tsr_template_vm_node (xmlNodePtr root,
            gboolean   create)
{
  return tsr_xml_metadata (root, TSR_METADATA_NS, TSR_METADATA_PREFIX, "vm", create);
}

char *
tsr_template_metadata_text (xmlNodePtr  root,
               const char *name)
{
  xmlNodePtr vm = tsr_template_vm_node (root, FALSE);

  for (xmlNodePtr n = vm ? vm->children : NULL; n != NULL; n = n->next)
    if (tsr_xml_is (n, name))
      return tsr_xml_text (n);
  return NULL;
}

void
tsr_template_set_metadata_text (xmlNodePtr  root,
                   const char *name,
                   const char *value)
{
  xmlNodePtr vm = tsr_template_vm_node (root, TRUE);

  tsr_xml_remove_children (vm, name);
  tsr_xml_add (vm, name, value);
}

xmlDocPtr
tsr_template_read_definition (virDomainPtr   dom,
                 GError       **error)
{
  g_autofree char *xml = virDomainGetXMLDesc (dom, VIR_DOMAIN_XML_INACTIVE | VIR_DOMAIN_XML_SECURE);
  xmlDocPtr doc = xml ? tsr_xml_parse (xml) : NULL;

  if (doc == NULL)
    tsr_error_set_from_libvirt (error, _("Could not read the VM’s definition"));
  return doc;
}

gboolean
tsr_template_write_definition (virConnectPtr   conn,
                  xmlDocPtr       doc,
                  GError        **error)
{
  g_autofree char *xml = tsr_xml_dump (doc);
  g_autoptr(virDomain) defined = virDomainDefineXML (conn, xml);

  if (defined == NULL)
    {
      tsr_error_set_from_libvirt (error, _("Could not save the VM’s definition"));
      return FALSE;
    }
  return TRUE;
}

/* The disk with target DEV, or the first disk (not cdrom) when DEV is NULL. */
xmlNodePtr
tsr_template_find_disk (xmlNodePtr  root,
           const char *dev)
{
  xmlNodePtr devices = tsr_xml_child (root, "devices");

  for (xmlNodePtr n = devices ? devices->children : NULL; n != NULL; n = n->next)
    {
      g_autofree char *device = tsr_xml_prop (n, "device");
      g_autofree char *target = tsr_xml_find_prop (n, "target", "dev");

      if (!tsr_xml_is (n, "disk") || (device != NULL && !g_str_equal (device, "disk")))
        continue;
      if (dev == NULL || g_strcmp0 (target, dev) == 0)
        return n;
    }
  return NULL;
}

char *
tsr_template_disk_path (virConnectPtr conn,
           xmlNodePtr    disk)
{
  xmlNodePtr source = tsr_xml_child (disk, "source");
  g_autofree char *pool = tsr_xml_prop (source, "pool");
  g_autofree char *volume = tsr_xml_prop (source, "volume");
  char *path = tsr_xml_prop (source, "file");

  if (path == NULL && pool != NULL && volume != NULL)
    {
      g_autoptr(virStoragePool) p = virStoragePoolLookupByName (conn, pool);
      g_autoptr(virStorageVol) v = p ? virStorageVolLookupByName (p, volume) : NULL;
      char *raw = v ? virStorageVolGetPath (v) : NULL;

      path = g_strdup (raw);
      free (raw);
      virResetLastError ();
    }
  return path;
}

void
tsr_template_set_disk_file (xmlNodePtr  disk,
               const char *path,
               const char *format)
{
  xmlNodePtr driver = tsr_xml_child (disk, "driver");

  tsr_xml_set (disk, "type", "file");
  tsr_xml_remove_children (disk, "source");
  tsr_xml_remove_children (disk, "backingStore");
  xmlAddPrevSibling (tsr_xml_child (disk, "target"),
                     xmlNewNode (NULL, (const xmlChar *) "source"));
  tsr_xml_set (tsr_xml_child (disk, "source"), "file", path);
  if (driver == NULL)
    driver = tsr_xml_add_with (disk, "driver", "name", "qemu", NULL);
  tsr_xml_set (driver, "type", format);
}

/* The chain */

void
tsr_revision_free (gpointer p)
{
  TsrRevision *r = p;

  g_free (r->path);
  g_free (r->format);
  g_free (r);
}

GPtrArray *
tsr_template_read_revisions (xmlNodePtr root)
{
  GPtrArray *revisions = g_ptr_array_new_with_free_func (tsr_revision_free);
  xmlNodePtr vm = tsr_template_vm_node (root, FALSE);

  for (xmlNodePtr n = vm ? vm->children : NULL; n != NULL; n = n->next)
    {
      g_autofree char *number = NULL;
      g_autofree char *committed = NULL;
      g_autofree char *allocation = NULL;
      g_autofree char *pruning = NULL;
      TsrRevision *r;

      if (!tsr_xml_is (n, "revision"))
        continue;
      number = tsr_xml_prop (n, "n");
      committed = tsr_xml_prop (n, "committed");
      allocation = tsr_xml_prop (n, "allocation");
      pruning = tsr_xml_prop (n, "pruning");
      r = g_new0 (TsrRevision, 1);
      r->n = number ? (guint) g_ascii_strtoull (number, NULL, 10) : 0;
      r->committed = g_strcmp0 (committed, "yes") == 0;
      r->pruning = g_strcmp0 (pruning, "yes") == 0;
      r->path = tsr_xml_text (n);
      r->format = tsr_xml_prop (n, "format");
      if (r->format == NULL)
        r->format = g_strdup ("qcow2");
      r->created_allocation = allocation ? g_ascii_strtoull (allocation, NULL, 10) : 0;
      g_ptr_array_add (revisions, r);
    }
  return revisions;
}

void
tsr_template_write_revisions (xmlNodePtr  root,
                 GPtrArray  *revisions)
{
  xmlNodePtr vm = tsr_template_vm_node (root, TRUE);

  tsr_xml_remove_children (vm, "revision");
  for (guint i = 0; i < revisions->len; i++)
    {
      TsrRevision *r = g_ptr_array_index (revisions, i);
      g_autofree char *number = g_strdup_printf ("%u", r->n);
      g_autofree char *allocation = g_strdup_printf ("%" G_GUINT64_FORMAT, r->created_allocation);
      xmlNodePtr node = tsr_xml_add (vm, "revision", r->path);

      tsr_xml_set (node, "n", number);
      tsr_xml_set (node, "committed", r->committed ? "yes" : "no");
      tsr_xml_set (node, "format", r->format ? r->format : "qcow2");
      if (!r->committed)
        tsr_xml_set (node, "allocation", allocation);
      if (r->pruning)
        tsr_xml_set (node, "pruning", "yes");
    }
}

TsrRevision *
tsr_template_newest_committed (GPtrArray *revisions)
{
  for (guint i = revisions->len; i > 0; i--)
    {
      TsrRevision *r = g_ptr_array_index (revisions, i - 1);

      if (r->committed)
        return r;
    }
  return NULL;
}

/* Volumes */

guint64
tsr_template_allocation_of (virConnectPtr conn,
               const char   *path)
{
  g_autoptr(virStorageVol) vol = virStorageVolLookupByPath (conn, path);
  virStorageVolInfo info = { 0 };

  if (vol != NULL)
    virStorageVolGetInfo (vol, &info);
  virResetLastError ();
  return info.allocation;
}

/* A new qcow2 volume NAME beside BASE (in its pool), with BASE as its
 * backing file, or empty of CAPACITY bytes when BASE is NULL (then in
 * POOL_OF's pool). An old volume of that name goes first. O(1) whatever
 * BASE's size.
 */
char *
tsr_template_make_volume (virConnectPtr   conn,
             const char     *pool_of,
             const char     *name,
             const char     *base,
             const char     *base_format,
             guint64         capacity,
             TsrJournal     *journal,
             GError        **error)
{
  g_autoptr(virStorageVol) anchor = virStorageVolLookupByPath (conn, pool_of);
  g_autoptr(virStoragePool) pool = anchor ? virStoragePoolLookupByVolume (anchor) : NULL;
  g_autoptr(virStorageVol) old = NULL;
  g_autoptr(virStorageVol) vol = NULL;
  g_autofree char *xml = NULL;
  virStorageVolInfo info = { 0 };
  char *raw;
  char *path;

  if (pool == NULL)
    {
      g_set_error (error, TSR_ERROR, TSR_ERROR_NOT_FOUND,
                   _("“%s” is in no storage pool, so no overlay can be made beside it."), pool_of);
      virResetLastError ();
      return NULL;
    }
  if (base != NULL && virStorageVolGetInfo (anchor, &info) == 0)
    capacity = info.capacity;
  if ((old = virStorageVolLookupByName (pool, name)) != NULL)
    virStorageVolDelete (old, 0);
  virResetLastError ();

  xml = tsr_xml_volume_with_backing (name, capacity, base, base_format);
  tsr_journal_volume (journal, virStoragePoolGetName (pool), name, NULL);
  vol = virStorageVolCreateXML (pool, xml, 0);
  if (vol == NULL)
    {
      g_autofree char *what = g_strdup_printf (_("Could not make volume “%s”"), name);

      tsr_error_set_from_libvirt (error, what);
      return NULL;
    }
  raw = virStorageVolGetPath (vol);
  path = g_strdup (raw);
  free (raw);
  return path;
}

char *
tsr_template_volume_name (const char *vm_name,
                          const char *role)
{
  return g_strdup_printf ("%s-%s.qcow2", vm_name, role);
}

/* Settling a template */

static char *
disk_format (xmlNodePtr disk)
{
  char *format = tsr_xml_find_prop (disk, "driver", "type");

  return format ? format : g_strdup ("raw");
}

/* Gives a template that never had revisions its chain: the root as it is
 * becomes revision 0, committed, under a fresh overlay, revision 1.
 */
static gboolean
start_chain (virConnectPtr   conn,
             xmlDocPtr       doc,
             xmlNodePtr      disk,
             GPtrArray      *revisions,
             TsrJournal     *journal,
             GError        **error)
{
  xmlNodePtr root = xmlDocGetRootElement (doc);
  g_autofree char *name = tsr_xml_text (tsr_xml_child (root, "name"));
  g_autofree char *path = tsr_template_disk_path (conn, disk);
  g_autofree char *format = disk_format (disk);
  g_autofree char *vol_name = NULL;
  g_autofree char *overlay = NULL;
  TsrRevision *r0, *r1;

  if (path == NULL)
    {
      g_set_error (error, TSR_ERROR, TSR_ERROR_NOT_SUPPORTED,
                   _("“%s” has no root disk file to base VMs on."), name);
      return FALSE;
    }
  vol_name = g_strdup_printf ("%s-root.1.qcow2", name);
  if (!(overlay = tsr_template_make_volume (conn, path, vol_name, path, format, 0, journal, error)))
    return FALSE;

  r0 = g_new0 (TsrRevision, 1);
  r0->n = 0;
  r0->committed = TRUE;
  r0->path = g_strdup (path);
  r0->format = g_strdup (format);
  r1 = g_new0 (TsrRevision, 1);
  r1->n = 1;
  r1->path = g_strdup (overlay);
  r1->format = g_strdup ("qcow2");
  r1->created_allocation = tsr_template_allocation_of (conn, overlay);
  g_ptr_array_add (revisions, r0);
  g_ptr_array_add (revisions, r1);
  tsr_template_set_disk_file (disk, overlay, "qcow2");
  return TRUE;
}

/* A halted template's last session: committed after a clean shutdown (a
 * flag: no copy), discarded after a crash, left alone when it wrote nothing.
 */
static gboolean
end_session (virConnectPtr   conn,
             virDomainPtr    tpl,
             xmlDocPtr       doc,
             xmlNodePtr      disk,
             GPtrArray      *revisions,
             TsrJournal     *journal,
             gboolean       *changed,
             GError        **error)
{
  xmlNodePtr root = xmlDocGetRootElement (doc);
  g_autofree char *name = tsr_xml_text (tsr_xml_child (root, "name"));
  TsrRevision *last = g_ptr_array_index (revisions, revisions->len - 1);
  TsrRevision *base = tsr_template_newest_committed (revisions);
  g_autofree char *vol_name = NULL;
  g_autofree char *overlay = NULL;
  int state = 0, reason = 0;
  gboolean crashed;

  *changed = FALSE;
  if (last->committed || base == NULL || tsr_template_allocation_of (conn, last->path) == last->created_allocation)
    return TRUE;  /* nothing written since */

  virDomainGetState (tpl, &state, &reason, 0);
  crashed = state == VIR_DOMAIN_SHUTOFF &&
            (reason == VIR_DOMAIN_SHUTOFF_DESTROYED || reason == VIR_DOMAIN_SHUTOFF_CRASHED ||
             reason == VIR_DOMAIN_SHUTOFF_FAILED);
  *changed = TRUE;
  if (crashed)
    {
      /* Half-written: the session goes, the template is as it was. */
      g_info ("%s: discarding revision %u (the template did not shut down cleanly)", name, last->n);
      vol_name = g_path_get_basename (last->path);
      g_free (overlay);
      if (!(overlay = tsr_template_make_volume (conn, last->path, vol_name, base->path, base->format, 0,
                                   journal, error)))
        return FALSE;
      last->created_allocation = tsr_template_allocation_of (conn, overlay);
      return TRUE;
    }

  last->committed = TRUE;
  vol_name = g_strdup_printf ("%s-root.%u.qcow2", name, last->n + 1);
  if (!(overlay = tsr_template_make_volume (conn, last->path, vol_name, last->path, "qcow2", 0, journal, error)))
    return FALSE;
  {
    TsrRevision *next = g_new0 (TsrRevision, 1);

    next->n = last->n + 1;
    next->path = g_strdup (overlay);
    next->format = g_strdup ("qcow2");
    next->created_allocation = tsr_template_allocation_of (conn, overlay);
    g_ptr_array_add (revisions, next);
  }
  tsr_template_set_disk_file (disk, overlay, "qcow2");
  g_info ("%s: committed revision %u", name, last->n);
  return TRUE;
}

gboolean
tsr_template_settle_sync (virDomainPtr   tpl,
                          guint         *revision,
                          char         **path,
                          char         **format,
                          GError       **error)
{
  virConnectPtr conn = virDomainGetConnect (tpl);
  g_autoptr(xmlDoc) doc = NULL;
  g_autoptr(GPtrArray) revisions = NULL;
  g_autoptr(TsrJournal) journal = NULL;
  xmlNodePtr root, disk;
  gboolean active = virDomainIsActive (tpl) == 1;
  gboolean changed = FALSE;
  TsrRevision *newest;

  tsr_assert_worker_thread ();
  if (!(doc = tsr_template_read_definition (tpl, error)))
    return FALSE;
  root = xmlDocGetRootElement (doc);
  revisions = tsr_template_read_revisions (root);
  if (!(disk = tsr_template_find_disk (root, NULL)))
    {
      g_set_error (error, TSR_ERROR, TSR_ERROR_NOT_SUPPORTED,
                   _("Template “%s” has no disk to base VMs on."), virDomainGetName (tpl));
      return FALSE;
    }

  if (!active)
    {
      /* Overlays made here and the switch of the template's disk: a crash
       * between them leaves the template on its old disk and nothing else.
       */
      journal = tsr_journal_begin_for (conn, "template commit", virDomainGetName (tpl));
      if (revisions->len == 0)
        {
          if (!start_chain (conn, doc, disk, revisions, journal, error))
            return FALSE;
          changed = TRUE;
        }
      else if (!end_session (conn, tpl, doc, disk, revisions, journal, &changed, error))
        return FALSE;
      if (changed)
        {
          tsr_template_write_revisions (root, revisions);
          tsr_journal_step ("template:overlay");
          if (!tsr_template_write_definition (conn, doc, error))
            return FALSE;
          tsr_journal_commit (journal);
        }
      g_clear_pointer (&journal, tsr_journal_end);
      /* Old revisions beyond revisions_to_keep, now or after an
       * interrupted prune.
       */
      if (tsr_template_prune_sync (tpl))
        {
          g_clear_pointer (&doc, xmlFreeDoc);
          g_ptr_array_unref (g_steal_pointer (&revisions));
          if (!(doc = tsr_template_read_definition (tpl, error)))
            return FALSE;
          revisions = tsr_template_read_revisions (xmlDocGetRootElement (doc));
        }
    }

  if ((newest = tsr_template_newest_committed (revisions)) == NULL)
    {
      g_set_error (error, TSR_ERROR, TSR_ERROR_VM_RUNNING,
                   _("Template “%s” runs and has no committed root yet: shut it down once "
                     "(qvm-shutdown --wait %s), then try again."),
                   virDomainGetName (tpl), virDomainGetName (tpl));
      return FALSE;
    }
  if (revision != NULL)
    *revision = newest->n;
  if (path != NULL)
    *path = g_strdup (newest->path);
  if (format != NULL)
    *format = g_strdup (newest->format);
  return TRUE;
}

/* AppVMs and DisposableVMs at start */

gboolean
tsr_template_prepare_start_sync (virDomainPtr   dom,
                                 GError       **error)
{
  virConnectPtr conn = virDomainGetConnect (dom);
  g_autoptr(xmlDoc) doc = NULL;
  g_autoptr(virDomain) tpl = NULL;
  g_autoptr(TsrJournal) journal = NULL;
  g_autofree char *klass = NULL;
  g_autofree char *tpl_name = NULL;
  g_autofree char *base = NULL;
  g_autofree char *base_format = NULL;
  g_autofree char *root_name = NULL;
  g_autofree char *root_path = NULL;
  g_autofree char *overlay = NULL;
  g_autofree char *number = NULL;
  xmlNodePtr root, disk;
  guint revision = 0;

  tsr_assert_worker_thread ();
  if (!(doc = tsr_template_read_definition (dom, error)))
    return FALSE;
  root = xmlDocGetRootElement (doc);
  klass = tsr_template_metadata_text (root, "class");
  if (g_strcmp0 (klass, "TemplateVM") == 0)
    {
      g_autoptr(GError) local = NULL;

      /* A template without a disk file to chain starts as it is. */
      if (tsr_template_settle_sync (dom, NULL, NULL, NULL, &local) ||
          g_error_matches (local, TSR_ERROR, TSR_ERROR_NOT_SUPPORTED))
        return TRUE;
      g_propagate_error (error, g_steal_pointer (&local));
      return FALSE;
    }
  if (g_strcmp0 (klass, "AppVM") != 0 && g_strcmp0 (klass, "DispVM") != 0)
    return TRUE;

  tpl_name = tsr_template_metadata_text (root, "template");
  tpl = tpl_name ? virDomainLookupByName (conn, tpl_name) : NULL;
  virResetLastError ();
  if (tpl == NULL)
    {
      g_set_error (error, TSR_ERROR, TSR_ERROR_NOT_FOUND,
                   _("The template of “%s”, “%s”, is gone: give it another one (qvm-prefs %s "
                     "template T)."), virDomainGetName (dom), tpl_name ? tpl_name : "",
                   virDomainGetName (dom));
      return FALSE;
    }
  if (!tsr_template_settle_sync (tpl, &revision, &base, &base_format, error))
    return FALSE;

  /* A fresh root on the newest revision, and an empty volatile disk. */
  journal = tsr_journal_begin_for (conn, "start", virDomainGetName (dom));
  disk = tsr_template_find_disk (root, NULL);
  root_path = disk ? tsr_template_disk_path (conn, disk) : NULL;
  if (root_path == NULL)
    {
      g_set_error (error, TSR_ERROR, TSR_ERROR_NOT_SUPPORTED,
                   _("“%s” has no root disk."), virDomainGetName (dom));
      return FALSE;
    }
  root_name = g_path_get_basename (root_path);
  if (!(overlay = tsr_template_make_volume (conn, root_path, root_name, base, base_format, 0, journal, error)))
    return FALSE;
  tsr_template_set_disk_file (disk, overlay, "qcow2");

  {
    xmlNodePtr volatile_disk = tsr_template_find_disk (root, "vdc");
    g_autofree char *volatile_path = volatile_disk ? tsr_template_disk_path (conn, volatile_disk) : NULL;
    g_autofree char *volatile_name = volatile_path ? g_path_get_basename (volatile_path) : NULL;

    if (volatile_path != NULL && g_str_has_suffix (volatile_path, "-volatile.qcow2"))
      {
        guint64 capacity = 0;
        g_autoptr(virStorageVol) old = virStorageVolLookupByPath (conn, volatile_path);
        virStorageVolInfo info;

        if (old != NULL && virStorageVolGetInfo (old, &info) == 0)
          capacity = info.capacity;
        virResetLastError ();
        g_free (tsr_template_make_volume (conn, volatile_path, volatile_name, NULL, NULL,
                             capacity ? capacity : G_GUINT64_CONSTANT (10) << 30, journal, error));
      }
  }

  number = g_strdup_printf ("%u", revision);
  tsr_template_set_metadata_text (root, "booted-revision", number);
  {
    /* The revision is in use while this VM runs on it. */
    xmlNodePtr vm = tsr_template_vm_node (root, TRUE);
    xmlNodePtr base_node;

    tsr_xml_remove_children (vm, "base");
    base_node = tsr_xml_add (vm, "base", base);
    tsr_xml_set (base_node, "disk", "vda");
  }
  if (!tsr_template_write_definition (conn, doc, error))
    return FALSE;
  tsr_journal_commit (journal);
  return TRUE;
}

static guint
metadata_number (const char *xml,
                 const char *name,
                 gboolean    newest_revision)
{
  g_autoptr(xmlDoc) doc = xml ? tsr_xml_parse (xml) : NULL;
  xmlNodePtr root = doc ? xmlDocGetRootElement (doc) : NULL;
  g_autofree char *text = NULL;

  if (root == NULL)
    return 0;
  if (newest_revision)
    {
      g_autoptr(GPtrArray) revisions = tsr_template_read_revisions (root);
      TsrRevision *r = tsr_template_newest_committed (revisions);

      return r ? r->n : 0;
    }
  text = tsr_template_metadata_text (root, name);
  return text ? (guint) g_ascii_strtoull (text, NULL, 10) : 0;
}

guint
tsr_template_booted_revision (const char *domain_xml)
{
  return metadata_number (domain_xml, "booted-revision", FALSE);
}

guint
tsr_template_newest_revision (const char *template_xml)
{
  return metadata_number (template_xml, NULL, TRUE);
}
