/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "config.h"

#include <errno.h>
#include <glib/gi18n-lib.h>
#include <glib/gstdio.h>
#include <libvirt/libvirt.h>
#include <libvirt/virterror.h>

#include "tsr-connection-private.h"
#include "tsr-domain-uses.h"
#include "tsr-error.h"
#include "tsr-journal.h"
#include "tsr-media-vm.h"
#include "tsr-libvirt-private.h"
#include "tsr-network.h"
#include "tsr-remover.h"
#include "tsr-task.h"
#include "tsr-threads.h"

/* The plan */

static void
item_free (gpointer p)
{
  TsrRemovalItem *item = p;

  g_free (item->pool);
  g_free (item->name);
  g_free (item->path);
  g_free (item->what);
  g_free (item->why_kept);
  g_free (item);
}

static void
address_free (gpointer p)
{
  TsrRemovalAddress *a = p;

  g_free (a->network);
  g_free (a->mac);
  g_free (a->ip);
  g_free (a);
}

void
tsr_removal_plan_free (TsrRemovalPlan *plan)
{
  if (plan == NULL)
    return;
  g_free (plan->vm_name);
  g_free (plan->uuid);
  g_strfreev (plan->dependents);
  g_ptr_array_unref (plan->volumes);
  g_ptr_array_unref (plan->kept);
  g_ptr_array_unref (plan->addresses);
  g_ptr_array_unref (plan->files);
  g_free (plan->nvram);
  g_free (plan);
}

gboolean
tsr_removal_plan_needs_typed_name (const TsrRemovalPlan *plan)
{
  return plan->total_bytes > TSR_REMOVAL_TYPE_NAME_BYTES;
}

static char *
item_label (const TsrRemovalItem *item)
{
  g_autofree char *size = g_format_size_full (item->allocation, G_FORMAT_SIZE_IEC_UNITS);

  if (item->pool != NULL)
    return g_strdup_printf (_("volume %s/%s (%s, %s)"), item->pool, item->name, item->what, size);
  return g_strdup_printf (_("file %s (%s)"), item->path, item->what);
}

char *
tsr_removal_plan_describe (const TsrRemovalPlan *plan)
{
  g_autoptr(GString) text = g_string_new (NULL);

  g_string_append_printf (text, _("Removes “%s”:\n"), plan->vm_name);
  g_string_append (text, _("  its definition"));
  if (plan->n_snapshots > 0)
    g_string_append_printf (text, ngettext (" with %u snapshot", " with %u snapshots",
                                            plan->n_snapshots), plan->n_snapshots);
  if (plan->managed_save)
    g_string_append (text, _(", its saved state"));
  g_string_append_c (text, '\n');
  for (guint i = 0; i < plan->volumes->len; i++)
    {
      g_autofree char *label = item_label (g_ptr_array_index (plan->volumes, i));

      g_string_append_printf (text, "  %s\n", label);
    }
  if (plan->nvram != NULL)
    g_string_append_printf (text, _("  UEFI variables %s\n"), plan->nvram);
  if (plan->tpm)
    g_string_append (text, _("  TPM state\n"));
  for (guint i = 0; i < plan->addresses->len; i++)
    {
      TsrRemovalAddress *a = g_ptr_array_index (plan->addresses, i);

      g_string_append_printf (text, _("  address %s on “%s” (%s)\n"), a->ip, a->network, a->mac);
    }
  for (guint i = 0; i < plan->files->len; i++)
    {
      g_autofree char *label = item_label (g_ptr_array_index (plan->files, i));

      g_string_append_printf (text, "  %s\n", label);
    }
  if (plan->kept->len > 0)
    g_string_append (text, _("Keeps:\n"));
  for (guint i = 0; i < plan->kept->len; i++)
    {
      TsrRemovalItem *item = g_ptr_array_index (plan->kept, i);
      g_autofree char *label = item_label (item);

      g_string_append_printf (text, "  %s: %s\n", label, item->why_kept);
    }
  return g_string_free (g_steal_pointer (&text), FALSE);
}

/* Planning, in a worker */

typedef struct
{
  virConnectPtr  conn;
  TsrRemovalPlan *plan;
  GHashTable    *others;  /* path or POOL/VOLUME -> name of another VM using it */
} Planner;

static TsrRemovalItem *
new_item (const char *pool,
          const char *name,
          const char *path,
          guint64     allocation,
          const char *what)
{
  TsrRemovalItem *item = g_new0 (TsrRemovalItem, 1);

  item->pool = g_strdup (pool);
  item->name = g_strdup (name);
  item->path = g_strdup (path);
  item->allocation = allocation;
  item->what = g_strdup (what);
  return item;
}

/* The volume at PATH (or POOL/VOLUME): whether it is one, its pool, name
 * and size.
 */
static virStorageVolPtr
find_volume (virConnectPtr  conn,
             const char    *path,
             const char    *pool_name,
             const char    *vol_name)
{
  virStorageVolPtr vol = NULL;

  if (pool_name != NULL && vol_name != NULL)
    {
      g_autoptr(virStoragePool) pool = virStoragePoolLookupByName (conn, pool_name);

      vol = pool ? virStorageVolLookupByName (pool, vol_name) : NULL;
    }
  else if (path != NULL)
    vol = virStorageVolLookupByPath (conn, path);
  virResetLastError ();
  return vol;
}

static const char *
user_of (Planner    *p,
         const char *path,
         const char *key)
{
  const char *user = path ? g_hash_table_lookup (p->others, path) : NULL;

  return user != NULL ? user : key ? g_hash_table_lookup (p->others, key) : NULL;
}

/* One disk or base: removed, or kept with the reason. */
static void
plan_storage (Planner    *p,
              const char *path,
              const char *pool_name,
              const char *vol_name,
              const char *what,
              const char *why_kept)
{
  g_autoptr(virStorageVol) vol = find_volume (p->conn, path, pool_name, vol_name);
  g_autofree char *vol_path = vol ? virStorageVolGetPath (vol) : NULL;
  g_autofree char *key = NULL;
  virStorageVolInfo info = { 0 };
  TsrRemovalItem *item;
  const char *user;

  if (vol != NULL)
    {
      g_autoptr(virStoragePool) pool = virStoragePoolLookupByVolume (vol);

      virStorageVolGetInfo (vol, &info);
      key = g_strdup_printf ("%s/%s", pool ? virStoragePoolGetName (pool) : "",
                             virStorageVolGetName (vol));
      item = new_item (pool ? virStoragePoolGetName (pool) : NULL, virStorageVolGetName (vol),
                       vol_path, info.allocation, what);
    }
  else
    item = new_item (NULL, path ? path : vol_name, path, 0, what);
  virResetLastError ();

  user = user_of (p, vol_path ? vol_path : path, key);
  if (why_kept != NULL)
    item->why_kept = g_strdup (why_kept);
  else if (user != NULL)
    item->why_kept = g_strdup_printf (_("also used by “%s”"), user);
  else if (vol == NULL)
    item->why_kept = g_strdup (_("not in a storage pool, so not Tessera’s to delete"));

  if (item->why_kept != NULL)
    g_ptr_array_add (p->plan->kept, item);
  else
    {
      g_ptr_array_add (p->plan->volumes, item);
      p->plan->total_bytes += item->allocation;
    }
}

static void
plan_disks (Planner       *p,
            TsrDomainUses *uses)
{
  for (guint i = 0; i < uses->disks->len; i++)
    {
      TsrDiskUse *d = g_ptr_array_index (uses->disks, i);
      g_autofree char *what = NULL;
      const char *why = NULL;
      gboolean seen = FALSE;

      if (d->path == NULL && d->volume == NULL)
        continue;  /* an empty drive */
      /* A running domain lists its next boot's disks too. */
      for (guint j = 0; j < i && !seen; j++)
        {
          TsrDiskUse *e = g_ptr_array_index (uses->disks, j);

          seen = g_strcmp0 (e->path, d->path) == 0 && g_strcmp0 (e->volume, d->volume) == 0 &&
                 g_strcmp0 (e->pool, d->pool) == 0;
        }
      if (seen)
        continue;

      if (g_strcmp0 (d->device, "cdrom") == 0 || g_strcmp0 (d->device, "floppy") == 0)
        {
          what = g_strdup_printf (_("%s %s"), d->device, d->target ? d->target : "");
          why = _("install media");
        }
      else
        {
          what = g_strdup_printf (_("disk %s"), d->target ? d->target : "");
          if (d->readonly || d->shareable)
            why = _("a shared disk");
        }
      plan_storage (p, d->path, d->pool, d->volume, what, why);
    }

  /* Linked clones: the bases under the VM's overlays, once nobody else's. */
  for (guint i = 0; uses->bases[i] != NULL; i++)
    plan_storage (p, uses->bases[i], NULL, NULL, _("linked-clone base"), NULL);
}

static void
plan_addresses (Planner       *p,
                TsrDomainUses *uses,
                GHashTable    *other_macs)
{
  for (guint i = 0; i < uses->macs->len; i++)
    {
      const char *mac = g_ptr_array_index (uses->macs, i);
      const char *network = g_ptr_array_index (uses->networks, i);
      g_autoptr(virNetwork) net = NULL;
      g_autoptr(TsrNetworkInfo) info = NULL;
      const TsrDhcpHost *host;
      TsrRemovalAddress *a;

      if (network == NULL || !tsr_network_name_is_managed (network) ||
          g_hash_table_contains (other_macs, mac))
        continue;
      net = virNetworkLookupByName (p->conn, network);
      info = net ? _tsr_read_network_for_update (net, NULL) : NULL;
      host = info ? tsr_network_info_find_host (info, mac) : NULL;
      virResetLastError ();
      if (host == NULL)
        continue;
      a = g_new0 (TsrRemovalAddress, 1);
      a->network = g_strdup (network);
      a->mac = g_strdup (mac);
      a->ip = g_strdup (host->ip);
      g_ptr_array_add (p->plan->addresses, a);
    }
}

static GStrv
find_dependents (const char    *name,
                 TsrDomainUses *uses,
                 GPtrArray     *all)
{
  g_autoptr(GStrvBuilder) builder = g_strv_builder_new ();

  for (guint i = 0; i < all->len; i++)
    {
      TsrDomainUses *other = g_ptr_array_index (all, i);

      if (g_strcmp0 (other->uuid, uses->uuid) == 0)
        continue;
      /* A StandaloneVM made from a template is a full copy: on its own. */
      if (g_strcmp0 (other->template_name, name) == 0 &&
          g_strcmp0 (other->klass, "StandaloneVM") != 0)
        {
          g_autofree char *line = g_strdup_printf (_("“%s” is based on it (its template)"),
                                                   other->name);

          g_strv_builder_add (builder, line);
        }
      /* A disk of this VM that is the base of another's overlay. */
      for (guint j = 0; j < uses->disks->len; j++)
        {
          TsrDiskUse *d = g_ptr_array_index (uses->disks, j);

          if (d->path != NULL && g_strcmp0 (d->device, "disk") == 0 &&
              (g_strv_contains ((const char * const *) other->bases, d->path) ||
               g_ptr_array_find_with_equal_func (other->backing, d->path, g_str_equal, NULL)))
            {
              g_autofree char *line = g_strdup_printf (_("“%s” is a linked clone whose disk "
                                                         "is based on its disk %s"),
                                                       other->name, d->path);

              g_strv_builder_add (builder, line);
              break;
            }
        }
    }
  return g_strv_builder_end (builder);
}

static TsrRemovalPlan *
plan_sync (virConnectPtr   conn,
           const char     *uuid,
           GError        **error)
{
  g_autoptr(virDomain) dom = virDomainLookupByUUIDString (conn, uuid);
  g_autoptr(GPtrArray) all = NULL;
  g_autoptr(TsrRemovalPlan) plan = NULL;
  g_autoptr(GHashTable) other_macs = NULL;
  TsrDomainUses *uses = NULL;
  Planner p = { conn, NULL, NULL };
  int has_save;

  if (dom == NULL)
    {
      g_set_error (error, TSR_ERROR, TSR_ERROR_NOT_FOUND,
                   _("The VM is gone already: run “qvm-ls” to see the VMs."));
      virResetLastError ();
      return NULL;
    }
  if ((all = tsr_domain_uses_all (conn)) == NULL)
    {
      tsr_error_set_from_libvirt (error, _("Could not list the virtual machines"));
      return NULL;
    }
  for (guint i = 0; i < all->len && uses == NULL; i++)
    if (g_strcmp0 (((TsrDomainUses *) g_ptr_array_index (all, i))->uuid, uuid) == 0)
      uses = g_ptr_array_index (all, i);
  if (uses == NULL)
    {
      g_set_error (error, TSR_ERROR, TSR_ERROR_NOT_FOUND,
                   _("The VM is gone already: run “qvm-ls” to see the VMs."));
      return NULL;
    }

  plan = g_new0 (TsrRemovalPlan, 1);
  plan->vm_name = g_strdup (virDomainGetName (dom));
  plan->uuid = g_strdup (uuid);
  plan->running = virDomainIsActive (dom) == 1;
  plan->volumes = g_ptr_array_new_with_free_func (item_free);
  plan->kept = g_ptr_array_new_with_free_func (item_free);
  plan->addresses = g_ptr_array_new_with_free_func (address_free);
  plan->files = g_ptr_array_new_with_free_func (item_free);
  plan->dependents = find_dependents (plan->vm_name, uses, all);
  plan->nvram = g_strdup (uses->nvram);
  plan->tpm = uses->tpm_emulator;
  plan->n_snapshots = MAX (virDomainSnapshotNum (dom, 0), 0);
  has_save = virDomainHasManagedSaveImage (dom, 0);
  plan->managed_save = has_save == 1;
  virResetLastError ();

  p.plan = plan;
  p.others = tsr_domain_uses_paths (all, uuid);
  plan_disks (&p, uses);
  g_hash_table_unref (p.others);

  other_macs = g_hash_table_new (g_str_hash, g_str_equal);
  for (guint i = 0; i < all->len; i++)
    {
      TsrDomainUses *other = g_ptr_array_index (all, i);

      if (other != uses)
        for (guint j = 0; j < other->macs->len; j++)
          g_hash_table_add (other_macs, g_ptr_array_index (other->macs, j));
    }
  plan_addresses (&p, uses, other_macs);

  for (guint i = 0; i < uses->logs->len; i++)
    {
      const char *log = g_ptr_array_index (uses->logs, i);

      if (g_file_test (log, G_FILE_TEST_EXISTS))
        g_ptr_array_add (plan->files, new_item (NULL, log, log, 0, _("serial log")));
    }

  return g_steal_pointer (&plan);
}

typedef struct
{
  TsrCall  call;
  GMutex  *reserve_lock;
  GStrv    uuids;        /* disposables to remove */
} RemoveData;

static void
remove_data_clear (gpointer p)
{
  RemoveData *data = p;

  g_strfreev (data->uuids);
}

static gpointer
plan_run (gpointer       user_data,
          GCancellable  *cancellable,
          GError       **error)
{
  RemoveData *data = user_data;

  return plan_sync (data->call.conn, data->call.uuid, error);
}

/* The three calls of this file: FUNC in a worker, about VM (or, NULL, the
 * disposables in UUIDS, taken over).
 */
static void
run_call (TsrConnection       *self,
          TsrVm               *vm,
          GStrv                uuids,
          gpointer             source_tag,
          TsrTaskValueFunc     func,
          GDestroyNotify       value_free,
          GCancellable        *cancellable,
          GAsyncReadyCallback  callback,
          gpointer             user_data)
{
  g_autoptr(GTask) task = NULL;
  RemoveData *data;

  data = tsr_connection_call_new (self, vm, sizeof (RemoveData), remove_data_clear, source_tag,
                                  cancellable, callback, user_data, &task);
  if (data == NULL)
    {
      g_strfreev (uuids);
      return;
    }
  data->reserve_lock = tsr_connection_get_reserve_lock (self);
  data->uuids = uuids;
  /* Once begun, a removal runs to its end. */
  if (func != plan_run)
    g_task_set_check_cancellable (task, FALSE);
  tsr_task_run_value_in_thread (task, func, value_free);
}

void
tsr_connection_plan_removal_async (TsrConnection       *self,
                                   TsrVm               *vm,
                                   GCancellable        *cancellable,
                                   GAsyncReadyCallback  callback,
                                   gpointer             user_data)
{
  g_return_if_fail (TSR_IS_CONNECTION (self));
  g_return_if_fail (TSR_IS_VM (vm));

  run_call (self, vm, NULL, tsr_connection_plan_removal_async, plan_run,
            (GDestroyNotify) tsr_removal_plan_free, cancellable, callback, user_data);
}

TsrRemovalPlan *
tsr_connection_plan_removal_finish (TsrConnection  *self,
                                    GAsyncResult   *result,
                                    GError        **error)
{
  g_return_val_if_fail (g_task_is_valid (result, self), NULL);
  return g_task_propagate_pointer (G_TASK (result), error);
}

/* Removing, in a worker */

static gboolean
check_removable (TsrRemovalPlan  *plan,
                 GError         **error)
{
  if (plan->running)
    {
      g_set_error (error, TSR_ERROR, TSR_ERROR_VM_RUNNING,
                   _("“%s” is running: shut it down first (qvm-shutdown --wait %s), then remove it."),
                   plan->vm_name, plan->vm_name);
      return FALSE;
    }
  if (plan->dependents[0] != NULL)
    {
      g_autofree char *why = g_strjoinv ("; ", plan->dependents);

      g_set_error (error, TSR_ERROR, TSR_ERROR_IN_USE,
                   _("“%s” cannot be removed while other VMs depend on it: %s. Remove them "
                     "first, or change what they are based on."), plan->vm_name, why);
      return FALSE;
    }
  return TRUE;
}

static void
journal_plan (TsrJournal     *journal,
              TsrRemovalPlan *plan)
{
  tsr_journal_removes (journal, plan->uuid);
  for (guint i = 0; i < plan->volumes->len; i++)
    {
      TsrRemovalItem *item = g_ptr_array_index (plan->volumes, i);

      tsr_journal_volume (journal, item->pool, item->name, item->path);
    }
  if (plan->nvram != NULL)
    tsr_journal_file (journal, plan->nvram);
  for (guint i = 0; i < plan->addresses->len; i++)
    {
      TsrRemovalAddress *a = g_ptr_array_index (plan->addresses, i);

      tsr_journal_reservation (journal, a->network, a->mac);
    }
}

static gboolean
undefine (virConnectPtr    conn,
          TsrRemovalPlan  *plan,
          GError         **error)
{
  g_autoptr(virDomain) dom = virDomainLookupByUUIDString (conn, plan->uuid);
  unsigned int flags = VIR_DOMAIN_UNDEFINE_MANAGED_SAVE | VIR_DOMAIN_UNDEFINE_SNAPSHOTS_METADATA |
                       VIR_DOMAIN_UNDEFINE_CHECKPOINTS_METADATA | VIR_DOMAIN_UNDEFINE_NVRAM |
                       VIR_DOMAIN_UNDEFINE_TPM;

  if (dom == NULL)
    {
      virResetLastError ();
      return TRUE;
    }
  if (virDomainUndefineFlags (dom, flags) == 0)
    return TRUE;
  /* Drivers without NVRAM or TPM refuse those flags. */
  if (virGetLastErrorCode () == VIR_ERR_INVALID_ARG || virGetLastErrorCode () == VIR_ERR_NO_SUPPORT)
    {
      virResetLastError ();
      if (virDomainUndefineFlags (dom, VIR_DOMAIN_UNDEFINE_MANAGED_SAVE |
                                  VIR_DOMAIN_UNDEFINE_SNAPSHOTS_METADATA) == 0 ||
          virDomainUndefine (dom) == 0)
        return TRUE;
    }
  {
    g_autofree char *what = g_strdup_printf (_("Could not remove “%s”"), plan->vm_name);

    tsr_error_set_from_libvirt (error, what);
  }
  return FALSE;
}

/* What is left once the domain is gone; a failure here is reported, and
 * the intent record stays for `tessera-cli repair` and the next start.
 */
static gboolean
remove_rest (RemoveData      *data,
             TsrRemovalPlan  *plan,
             GString         *failures)
{
  virConnectPtr conn = data->call.conn;

  for (guint i = 0; i < plan->volumes->len; i++)
    {
      TsrRemovalItem *item = g_ptr_array_index (plan->volumes, i);
      g_autoptr(virStorageVol) vol = find_volume (conn, item->path, item->pool, item->name);
      g_autofree char *step = g_strdup_printf ("remove:volume-%u", i);

      if (vol != NULL && virStorageVolDelete (vol, 0) < 0)
        g_string_append_printf (failures, _("volume %s/%s: %s; "), item->pool, item->name,
                                virGetLastErrorMessage ());
      virResetLastError ();
      tsr_journal_step (step);
    }

  if (plan->nvram != NULL && g_unlink (plan->nvram) != 0 && errno != ENOENT && errno != EACCES)
    g_string_append_printf (failures, "%s: %s; ", plan->nvram, g_strerror (errno));

  for (guint i = 0; i < plan->addresses->len; i++)
    {
      TsrRemovalAddress *a = g_ptr_array_index (plan->addresses, i);
      g_autoptr(GError) error = NULL;

      if (!tsr_release_address_sync (data->reserve_lock, conn, a->network, a->mac, NULL, &error))
        g_string_append_printf (failures, _("address %s: %s; "), a->ip, error->message);
      tsr_journal_step ("remove:released");
    }

  for (guint i = 0; i < plan->files->len; i++)
    {
      TsrRemovalItem *item = g_ptr_array_index (plan->files, i);

      /* libvirt's log folder is root's: an ordinary account leaves it. */
      if (g_unlink (item->path) != 0 && errno != ENOENT)
        {
          item->why_kept = g_strdup (g_strerror (errno));
          g_info ("kept %s: %s", item->path, item->why_kept);
        }
    }

  return failures->len == 0;
}

static TsrRemovalPlan *
remove_sync (RemoveData  *data,
             const char  *uuid,
             GError     **error)
{
  g_autoptr(TsrRemovalPlan) plan = NULL;
  g_autoptr(TsrJournal) journal = NULL;
  g_autoptr(GString) failures = g_string_new (NULL);
  int lock = data->call.local ? tsr_local_lock_acquire (uuid) : -1;
  int name_lock = -1;

  plan = plan_sync (data->call.conn, uuid, error);
  if (plan != NULL && data->call.local)
    name_lock = tsr_local_lock_name (plan->vm_name);
  if (plan == NULL || !check_removable (plan, error))
    {
      g_clear_pointer (&plan, tsr_removal_plan_free);
      goto out;
    }

  journal = tsr_journal_begin_for (data->call.conn, "remove", plan->vm_name);
  journal_plan (journal, plan);
  tsr_journal_step ("remove:journaled");

  if (!undefine (data->call.conn, plan, error))
    {
      g_clear_pointer (&plan, tsr_removal_plan_free);
      goto out;
    }
  tsr_journal_step ("remove:undefined");

  if (!remove_rest (data, plan, failures))
    {
      g_set_error (error, TSR_ERROR, TSR_ERROR_FAILED,
                   _("“%s” was removed, but some of what it had was not: %sit will be tried "
                     "again by “tessera-cli repair” and the next time Tessera starts."),
                   plan->vm_name, failures->str);
      g_clear_pointer (&plan, tsr_removal_plan_free);
      /* The record stays for the next try; this process no longer owns it. */
      g_clear_pointer (&journal, tsr_journal_forget);
    }

out:
  tsr_local_lock_release (name_lock);
  tsr_local_lock_release (lock);
  return g_steal_pointer (&plan);
}

static gpointer
remove_run (gpointer       user_data,
            GCancellable  *cancellable,
            GError       **error)
{
  RemoveData *data = user_data;

  return remove_sync (data, data->call.uuid, error);
}

/* Disposables */

static gpointer
disposables_run (gpointer       user_data,
                 GCancellable  *cancellable,
                 GError       **error)
{
  RemoveData *data = user_data;
  g_autoptr(GStrvBuilder) removed = g_strv_builder_new ();

  for (guint i = 0; data->uuids[i] != NULL; i++)
    {
      g_autoptr(TsrRemovalPlan) plan = NULL;
      g_autoptr(GError) local = NULL;

      /* Started again meanwhile: it stays (remove_sync refuses). */
      plan = remove_sync (data, data->uuids[i], &local);
      if (plan != NULL)
        g_strv_builder_add (removed, plan->vm_name);
      else
        g_info ("disposable %s not removed: %s", data->uuids[i], local->message);
    }
  /* And the copies of install media of VMs that stopped. */
  tsr_media_vm_sweep_sync (data->call.conn, NULL, NULL);
  return g_strv_builder_end (removed);
}

void
tsr_connection_remove_disposables_async (TsrConnection       *self,
                                         GCancellable        *cancellable,
                                         GAsyncReadyCallback  callback,
                                         gpointer             user_data)
{
  g_autoptr(GStrvBuilder) uuids = g_strv_builder_new ();
  GListModel *vms;

  g_return_if_fail (TSR_IS_CONNECTION (self));

  /* From the list as the connection knows it: no round trip per VM. */
  vms = tsr_connection_get_vms (self);
  for (guint i = 0; i < g_list_model_get_n_items (vms); i++)
    {
      g_autoptr(TsrVm) vm = g_list_model_get_item (vms, i);

      if (g_strcmp0 (tsr_vm_get_vm_class (vm), "DispVM") == 0 && !tsr_vm_is_active (vm))
        g_strv_builder_add (uuids, tsr_vm_get_uuid (vm));
    }
  run_call (self, NULL, g_strv_builder_end (uuids), tsr_connection_remove_disposables_async,
            disposables_run, (GDestroyNotify) g_strfreev, cancellable, callback, user_data);
}

GStrv
tsr_connection_remove_disposables_finish (TsrConnection  *self,
                                          GAsyncResult   *result,
                                          GError        **error)
{
  g_return_val_if_fail (g_task_is_valid (result, self), NULL);
  return g_task_propagate_pointer (G_TASK (result), error);
}

void
tsr_connection_remove_vm_async (TsrConnection       *self,
                                TsrVm               *vm,
                                GCancellable        *cancellable,
                                GAsyncReadyCallback  callback,
                                gpointer             user_data)
{
  g_return_if_fail (TSR_IS_CONNECTION (self));
  g_return_if_fail (TSR_IS_VM (vm));

  run_call (self, vm, NULL, tsr_connection_remove_vm_async, remove_run,
            (GDestroyNotify) tsr_removal_plan_free, cancellable, callback, user_data);
}

TsrRemovalPlan *
tsr_connection_remove_vm_finish (TsrConnection  *self,
                                 GAsyncResult   *result,
                                 GError        **error)
{
  g_return_val_if_fail (g_task_is_valid (result, self), NULL);
  return g_task_propagate_pointer (G_TASK (result), error);
}
