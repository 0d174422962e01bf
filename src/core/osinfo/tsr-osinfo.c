/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "config.h"

#include <string.h>
#include <glib/gi18n-lib.h>
#include <osinfo/osinfo.h>

#include "tsr-error.h"
#include "tsr-osinfo.h"
#include "tsr-task.h"
#include "tsr-threads.h"

#define MIB (G_GUINT64_CONSTANT (1024) * 1024)
#define GIB (MIB * 1024)

/* Qubes' defaults, kept for what libosinfo does not know. */
#define DEFAULT_MEMORY 400
#define DEFAULT_VCPUS  2
#define DEFAULT_DISK   (20 * GIB)

/* The database */

/* Loaded once, in the first worker that needs it; read-only afterwards,
 * and read under this lock because libosinfo promises nothing about
 * threads.
 */
static GMutex db_lock;

static OsinfoDb *
db_get (void)
{
  static OsinfoLoader *loader = NULL;

  tsr_assert_worker_thread ();
  if (loader == NULL)
    {
      g_autoptr(GError) error = NULL;
      gint64 start = g_get_monotonic_time ();

      loader = osinfo_loader_new ();
      /* A damaged file in the database leaves the rest usable. */
      osinfo_loader_process_default_path (loader, &error);
      if (error != NULL)
        g_warning ("libosinfo's database did not load completely: %s", error->message);
      g_info ("libosinfo's database: %d operating systems in %" G_GINT64_FORMAT " ms",
              osinfo_list_get_length (OSINFO_LIST (osinfo_db_get_os_list (osinfo_loader_get_db (loader)))),
              (g_get_monotonic_time () - start) / 1000);
    }
  return osinfo_loader_get_db (loader);
}

/* Defaults */

TsrOsDefaults *
tsr_os_defaults_unknown (void)
{
  TsrOsDefaults *d = g_new0 (TsrOsDefaults, 1);

  d->name = g_strdup (_("Unknown"));
  d->family = g_strdup ("other");
  d->firmware = g_strdup ("bios");
  d->virtio = TRUE;
  d->memory = DEFAULT_MEMORY;
  d->vcpus = DEFAULT_VCPUS;
  d->disk = DEFAULT_DISK;
  return d;
}

TsrOsDefaults *
tsr_os_defaults_for_family (const char *family)
{
  TsrOsDefaults *d = tsr_os_defaults_unknown ();

  g_return_val_if_fail (family != NULL, d);

  g_free (d->family);
  d->family = g_strdup (family);
  /* Windows installers bring no virtio drivers. */
  if (g_str_equal (family, "windows"))
    {
      d->virtio = FALSE;
      d->hyperv = TRUE;
    }
  return d;
}

TsrOsDefaults *
tsr_os_defaults_copy (const TsrOsDefaults *defaults)
{
  TsrOsDefaults *copy;

  g_return_val_if_fail (defaults != NULL, NULL);

  copy = g_memdup2 (defaults, sizeof *defaults);
  copy->id = g_strdup (defaults->id);
  copy->uri = g_strdup (defaults->uri);
  copy->name = g_strdup (defaults->name);
  copy->family = g_strdup (defaults->family);
  copy->firmware = g_strdup (defaults->firmware);
  return copy;
}

void
tsr_os_defaults_free (TsrOsDefaults *defaults)
{
  if (defaults == NULL)
    return;
  g_free (defaults->id);
  g_free (defaults->uri);
  g_free (defaults->name);
  g_free (defaults->family);
  g_free (defaults->firmware);
  g_free (defaults);
}

/* The resources of LIST for x86_64, or for every architecture. */
static OsinfoResources *
resources_for_arch (OsinfoResourcesList *list)
{
  OsinfoResources *all = NULL;

  for (gint i = 0; list != NULL && i < osinfo_list_get_length (OSINFO_LIST (list)); i++)
    {
      OsinfoResources *r = OSINFO_RESOURCES (osinfo_list_get_nth (OSINFO_LIST (list), i));
      const char *arch = osinfo_resources_get_architecture (r);

      if (g_strcmp0 (arch, "x86_64") == 0)
        return r;
      if (g_strcmp0 (arch, OSINFO_ARCHITECTURE_ALL) == 0)
        all = r;
    }
  return all;
}

static void
read_resources (TsrOsDefaults *d,
                OsinfoOs      *os)
{
  g_autoptr(OsinfoResourcesList) min_list = osinfo_os_get_minimum_resources (os);
  g_autoptr(OsinfoResourcesList) rec_list = osinfo_os_get_recommended_resources (os);
  OsinfoResources *min = resources_for_arch (min_list);
  OsinfoResources *rec = resources_for_arch (rec_list);
  gint64 min_ram = min ? osinfo_resources_get_ram (min) : -1;
  gint64 rec_ram = rec ? osinfo_resources_get_ram (rec) : -1;
  gint64 min_storage = min ? osinfo_resources_get_storage (min) : -1;
  gint64 rec_storage = rec ? osinfo_resources_get_storage (rec) : -1;
  gint min_cpus = min ? osinfo_resources_get_n_cpus (min) : -1;
  gint rec_cpus = rec ? osinfo_resources_get_n_cpus (rec) : -1;

  if (min_ram > 0)
    d->min_memory = (guint64) min_ram / MIB;
  if (rec_ram > 0)
    d->memory = (guint64) rec_ram / MIB;
  else if (min_ram > 0)
    d->memory = d->min_memory;
  d->memory = MAX (d->memory, d->min_memory);

  if (rec_cpus > 0)
    d->vcpus = (guint) rec_cpus;
  d->vcpus = MAX (d->vcpus, (guint) MAX (min_cpus, 1));

  if (min_storage > 0)
    d->min_disk = (guint64) min_storage;
  if (rec_storage > 0)
    d->disk = (guint64) rec_storage;
  d->disk = MAX (d->disk, d->min_disk);
}

/* UEFI only where the OS says BIOS is not supported. */
static gboolean
bios_unsupported (OsinfoOs *os)
{
  g_autoptr(OsinfoFirmwareList) list = osinfo_os_get_complete_firmware_list (os, NULL);

  for (gint i = 0; i < osinfo_list_get_length (OSINFO_LIST (list)); i++)
    {
      OsinfoFirmware *fw = OSINFO_FIRMWARE (osinfo_list_get_nth (OSINFO_LIST (list), i));
      const char *arch = osinfo_entity_get_param_value (OSINFO_ENTITY (fw),
                                                        OSINFO_FIRMWARE_PROP_ARCHITECTURE);

      if (g_strcmp0 (osinfo_firmware_get_firmware_type (fw), "bios") == 0 &&
          (arch == NULL || g_str_equal (arch, "x86_64") || g_str_equal (arch, "all")) &&
          !osinfo_firmware_is_supported (fw))
        return TRUE;
    }
  return FALSE;
}

/* Whether the OS has drivers for the devices named in NAMES. */
static gboolean
has_device (OsinfoOs           *os,
            const char * const *names)
{
  g_autoptr(OsinfoDeviceList) list = osinfo_os_get_all_devices (os, NULL);

  for (gint i = 0; i < osinfo_list_get_length (OSINFO_LIST (list)); i++)
    {
      OsinfoDevice *dev = OSINFO_DEVICE (osinfo_list_get_nth (OSINFO_LIST (list), i));

      if (g_strv_contains (names, osinfo_device_get_name (dev) ? osinfo_device_get_name (dev) : ""))
        return TRUE;
    }
  return FALSE;
}

static const char *
family_of (OsinfoOs *os)
{
  const char *family = osinfo_os_get_family (os);

  if (g_strcmp0 (family, "winnt") == 0 || g_strcmp0 (family, "win9x") == 0)
    return "windows";
  if (g_strcmp0 (family, "linux") == 0)
    return "linux";
  return "other";
}

/* DB locked. */
static TsrOsDefaults *
defaults_from_os (OsinfoOs *os)
{
  static const char * const virtio_disk[] = { "virtio-block", "virtio1.0-block", NULL };
  static const char * const virtio_net[] = { "virtio-net", "virtio1.0-net", NULL };
  static const char * const tpm2[] = { "tpm-crb", "tpm-tis", NULL };
  TsrOsDefaults *d = tsr_os_defaults_for_family (family_of (os));
  gboolean windows = g_str_equal (d->family, "windows");

  d->id = g_strdup (osinfo_product_get_short_id (OSINFO_PRODUCT (os)));
  d->uri = g_strdup (osinfo_entity_get_id (OSINFO_ENTITY (os)));
  g_free (d->name);
  d->name = g_strdup (osinfo_product_get_name (OSINFO_PRODUCT (os)));
  if (bios_unsupported (os))
    {
      g_free (d->firmware);
      d->firmware = g_strdup ("uefi");
    }
  d->virtio = has_device (os, virtio_disk) && has_device (os, virtio_net);
  /* A Windows that no longer boots from BIOS (11 on) also insists on
   * Secure Boot and a TPM 2.0; so does any OS whose entry lists a TPM.
   */
  d->secure_boot = windows && g_str_equal (d->firmware, "uefi");
  d->tpm = d->secure_boot || has_device (os, tpm2);
  read_resources (d, os);
  return d;
}

/* DB locked. By short id, then by full id. */
static OsinfoOs *
find_os (OsinfoDb   *db,
         const char *id)
{
  OsinfoOsList *list = osinfo_db_get_os_list (db);
  OsinfoOs *os = osinfo_db_get_os (db, id);

  for (gint i = 0; os == NULL && i < osinfo_list_get_length (OSINFO_LIST (list)); i++)
    {
      OsinfoOs *candidate = OSINFO_OS (osinfo_list_get_nth (OSINFO_LIST (list), i));
      g_autoptr(GList) ids = osinfo_product_get_short_id_list (OSINFO_PRODUCT (candidate));

      for (GList *l = ids; l != NULL; l = l->next)
        if (g_strcmp0 (l->data, id) == 0)
          os = candidate;
    }
  g_object_unref (list);
  return os;
}

TsrOsDefaults *
tsr_osinfo_defaults_sync (const char  *id,
                          GError     **error)
{
  OsinfoOs *os;
  TsrOsDefaults *d = NULL;

  g_return_val_if_fail (id != NULL, NULL);

  g_mutex_lock (&db_lock);
  os = find_os (db_get (), id);
  if (os != NULL)
    d = defaults_from_os (os);
  g_mutex_unlock (&db_lock);

  if (d == NULL)
    g_set_error (error, TSR_ERROR, TSR_ERROR_INVALID_VALUE,
                 _("“%s” is not an operating system libosinfo knows: give its short id as "
                   "`osinfo-query os` lists it (like win11 or debian11), or linux, windows or "
                   "other."), id);
  return d;
}

static gpointer
defaults_worker (gpointer       data,
                 GCancellable  *cancellable,
                 GError       **error)
{
  return tsr_osinfo_defaults_sync (data, error);
}

void
tsr_osinfo_defaults_async (const char          *id,
                           GCancellable        *cancellable,
                           GAsyncReadyCallback  callback,
                           gpointer             user_data)
{
  g_autoptr(GTask) task = NULL;

  g_return_if_fail (id != NULL);

  task = g_task_new (NULL, cancellable, callback, user_data);
  g_task_set_source_tag (task, tsr_osinfo_defaults_async);
  g_task_set_task_data (task, g_strdup (id), g_free);
  tsr_task_run_value_in_thread (task, defaults_worker, (GDestroyNotify) tsr_os_defaults_free);
}

TsrOsDefaults *
tsr_osinfo_defaults_finish (GAsyncResult  *result,
                            GError       **error)
{
  g_return_val_if_fail (g_task_is_valid (result, NULL), NULL);

  return g_task_propagate_pointer (G_TASK (result), error);
}

/* OVF and VirtualBox OS types */

/* The few VirtualBox and VMware names that do not turn into libosinfo's
 * short ids by the rules in ovf_candidate().
 */
static const struct { const char *from; const char *to; } ovf_aliases[] = {
  { "win81", "win8.1" },
  { "win9", "win10" },        /* VMware's windows9_64Guest is Windows 10 */
  { "win2012", "win2k12r2" },
  { "win2008", "win2k8r2" },
  { "win2003", "win2k3" },
  { "win2000", "win2k" },
  { "redhat", "rhel" },
  { "oracle", "ol" },
};

/* "Windows11_64" → "win11", "debian11_64Guest" → "debian11",
 * "Windows2019_64" → "win2k19".
 */
static char *
ovf_candidate (const char *os_type)
{
  g_autofree char *lower = g_ascii_strdown (os_type, -1);
  GString *s = g_string_new (NULL);
  const char *p = lower;

  if (g_str_has_suffix (lower, "guest"))
    lower[strlen (lower) - strlen ("guest")] = '\0';
  for (; *p != '\0'; p++)
    {
      /* "64-bit", "32-bit", "_64", "-64" and "64" are the architecture,
       * not the version.
       */
      if (g_str_has_prefix (p, "64-bit") || g_str_has_prefix (p, "32-bit"))
        {
          p += strlen ("64-bit") - 1;
          continue;
        }
      if (g_str_has_prefix (p, "_64") || g_str_has_prefix (p, "64") || g_str_has_prefix (p, "-64"))
        {
          p += (*p == '6') ? 1 : 2;
          continue;
        }
      if (g_ascii_isalnum (*p) || *p == '.')
        g_string_append_c (s, *p);
    }
  if (g_str_has_prefix (s->str, "windows"))
    g_string_erase (s, strlen ("win"), strlen ("dows"));
  for (guint i = 0; i < G_N_ELEMENTS (ovf_aliases); i++)
    if (g_str_equal (s->str, ovf_aliases[i].from))
      {
        g_string_assign (s, ovf_aliases[i].to);
        return g_string_free (s, FALSE);
      }
  /* Windows Server 2016, 2019, 2022: win2k16, win2k19, win2k22. */
  if (g_str_has_prefix (s->str, "win20") && s->len == strlen ("win20xx"))
    g_string_insert (g_string_erase (s, 3, 2), 3, "2k");
  return g_string_free (s, FALSE);
}

/* DB locked. An OVF description that is libosinfo's name of the OS, an
 * architecture in parentheses aside: "Microsoft Windows 10 (64-bit)".
 */
static OsinfoOs *
find_os_by_name (OsinfoDb   *db,
                 const char *os_type)
{
  g_autoptr(OsinfoOsList) list = osinfo_db_get_os_list (db);
  g_autofree char *name = g_strdup (os_type);
  char *paren = strchr (name, '(');

  if (paren != NULL)
    *paren = '\0';
  g_strstrip (name);
  for (gint i = 0; *name != '\0' && i < osinfo_list_get_length (OSINFO_LIST (list)); i++)
    {
      OsinfoProduct *o = OSINFO_PRODUCT (osinfo_list_get_nth (OSINFO_LIST (list), i));

      if (g_ascii_strcasecmp (osinfo_product_get_name (o) ? osinfo_product_get_name (o) : "",
                              name) == 0)
        return OSINFO_OS (o);
    }
  return NULL;
}

/* DB locked. No version ("Debian_64", "Debian GNU/Linux 11 (64-bit)"):
 * the family of the first word that names a distribution in libosinfo,
 * or says Windows or Linux.
 */
static const char *
family_by_words (OsinfoDb   *db,
                 const char *os_type)
{
  g_autofree char *lower = g_ascii_strdown (os_type, -1);
  g_autoptr(OsinfoOsList) list = osinfo_db_get_os_list (db);
  g_auto(GStrv) words = NULL;

  /* Letters only: "Debian_64" and "Ubuntu22" are "debian" and "ubuntu". */
  for (char *c = lower; *c != '\0'; c++)
    if (!g_ascii_isalpha (*c))
      *c = ' ';
  words = g_strsplit (lower, " ", -1);
  for (guint w = 0; words[w] != NULL; w++)
    {
      if (*words[w] == '\0')
        continue;
      if (g_str_equal (words[w], "windows") || g_str_equal (words[w], "win"))
        return "windows";
      if (g_str_equal (words[w], "linux"))
        return "linux";
      for (gint i = 0; i < osinfo_list_get_length (OSINFO_LIST (list)); i++)
        {
          OsinfoOs *o = OSINFO_OS (osinfo_list_get_nth (OSINFO_LIST (list), i));

          if (g_strcmp0 (osinfo_os_get_distro (o), words[w]) == 0)
            return family_of (o);
        }
    }
  return "other";
}

char *
tsr_osinfo_match_ovf_type (const char  *os_type,
                           char       **family)
{
  g_autofree char *candidate = NULL;
  const char *found_family;
  char *id = NULL;
  OsinfoDb *db;
  OsinfoOs *os;

  g_return_val_if_fail (family != NULL, NULL);

  if (os_type == NULL || *os_type == '\0')
    {
      *family = g_strdup ("other");
      return NULL;
    }

  candidate = ovf_candidate (os_type);
  g_mutex_lock (&db_lock);
  db = db_get ();
  os = *candidate ? find_os (db, candidate) : NULL;
  if (os == NULL)
    os = find_os_by_name (db, os_type);
  if (os != NULL)
    {
      id = g_strdup (osinfo_product_get_short_id (OSINFO_PRODUCT (os)));
      found_family = family_of (os);
    }
  else
    found_family = family_by_words (db, os_type);
  g_mutex_unlock (&db_lock);

  *family = g_strdup (found_family);
  return id;
}

/* Identifying media */

static gpointer
identify_worker (gpointer       data,
                 GCancellable  *cancellable,
                 GError       **error)
{
  const char *path = data;
  g_autoptr(GMainContext) context = NULL;
  g_autoptr(OsinfoMedia) media = NULL;
  g_autoptr(GError) local_error = NULL;
  TsrOsDefaults *d = NULL;
  gint64 start = g_get_monotonic_time ();

  /* libosinfo's sync call runs a main loop on the thread-default context:
   * without one of its own, this worker would iterate the main thread's.
   */
  context = g_main_context_new ();
  g_main_context_push_thread_default (context);
  media = osinfo_media_create_from_location (path, cancellable, &local_error);
  g_main_context_pop_thread_default (context);
  if (g_cancellable_set_error_if_cancelled (cancellable, error))
    return NULL;
  if (media == NULL)
    {
      /* Not an ISO, or one without the descriptors libosinfo reads. */
      g_debug ("%s: no OS from the media: %s", path, local_error->message);
      return tsr_os_defaults_unknown ();
    }

  g_mutex_lock (&db_lock);
  if (osinfo_db_identify_media (db_get (), media) && osinfo_media_get_os (media) != NULL)
    {
      g_autoptr(OsinfoOs) os = osinfo_media_get_os (media);

      d = defaults_from_os (os);
    }
  g_mutex_unlock (&db_lock);

  g_info ("%s: volume “%s” is %s (%" G_GINT64_FORMAT " ms)", path,
          osinfo_media_get_volume_id (media) ? osinfo_media_get_volume_id (media) : "",
          d ? d->id : "not known", (g_get_monotonic_time () - start) / 1000);
  if (g_cancellable_set_error_if_cancelled (cancellable, error))
    {
      tsr_os_defaults_free (d);
      return NULL;
    }
  return d ? d : tsr_os_defaults_unknown ();
}

void
tsr_osinfo_identify_async (const char          *path,
                           GCancellable        *cancellable,
                           GAsyncReadyCallback  callback,
                           gpointer             user_data)
{
  g_autoptr(GTask) task = NULL;

  g_return_if_fail (path != NULL);

  task = g_task_new (NULL, cancellable, callback, user_data);
  g_task_set_source_tag (task, tsr_osinfo_identify_async);
  g_task_set_task_data (task, g_strdup (path), g_free);
  tsr_task_run_value_in_thread (task, identify_worker, (GDestroyNotify) tsr_os_defaults_free);
}

TsrOsDefaults *
tsr_osinfo_identify_finish (GAsyncResult  *result,
                            GError       **error)
{
  g_return_val_if_fail (g_task_is_valid (result, NULL), NULL);

  return g_task_propagate_pointer (G_TASK (result), error);
}

/* The list */

struct _TsrOsEntry
{
  GObject  parent_instance;
  char    *id;
  char    *name;
  char    *label;
};

enum {
  PROP_0,
  PROP_ID,
  PROP_NAME,
  PROP_LABEL,
  N_PROPS
};

static GParamSpec *properties[N_PROPS];

G_DEFINE_FINAL_TYPE (TsrOsEntry, tsr_os_entry, G_TYPE_OBJECT)

static void
tsr_os_entry_finalize (GObject *object)
{
  TsrOsEntry *self = TSR_OS_ENTRY (object);

  g_free (self->id);
  g_free (self->name);
  g_free (self->label);
  G_OBJECT_CLASS (tsr_os_entry_parent_class)->finalize (object);
}

static void
tsr_os_entry_get_property (GObject    *object,
                           guint       prop_id,
                           GValue     *value,
                           GParamSpec *pspec)
{
  TsrOsEntry *self = TSR_OS_ENTRY (object);

  switch (prop_id)
    {
    case PROP_ID:
      g_value_set_string (value, self->id);
      break;
    case PROP_NAME:
      g_value_set_string (value, self->name);
      break;
    case PROP_LABEL:
      g_value_set_string (value, self->label);
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
tsr_os_entry_class_init (TsrOsEntryClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);

  object_class->finalize = tsr_os_entry_finalize;
  object_class->get_property = tsr_os_entry_get_property;

  properties[PROP_ID] = g_param_spec_string ("id", NULL, NULL, NULL,
                                             G_PARAM_READABLE | G_PARAM_STATIC_STRINGS);
  properties[PROP_NAME] = g_param_spec_string ("name", NULL, NULL, NULL,
                                               G_PARAM_READABLE | G_PARAM_STATIC_STRINGS);
  properties[PROP_LABEL] = g_param_spec_string ("label", NULL, NULL, NULL,
                                                G_PARAM_READABLE | G_PARAM_STATIC_STRINGS);
  g_object_class_install_properties (object_class, N_PROPS, properties);
}

static void
tsr_os_entry_init (TsrOsEntry *self)
{
}

static TsrOsEntry *
tsr_os_entry_new (const char *id,
                  const char *name)
{
  TsrOsEntry *self = g_object_new (TSR_TYPE_OS_ENTRY, NULL);

  self->id = g_strdup (id);
  self->name = g_strdup (name);
  self->label = g_strdup_printf ("%s (%s)", name, id);
  return self;
}

const char *
tsr_os_entry_get_id (TsrOsEntry *self)
{
  g_return_val_if_fail (TSR_IS_OS_ENTRY (self), NULL);
  return self->id;
}

const char *
tsr_os_entry_get_name (TsrOsEntry *self)
{
  g_return_val_if_fail (TSR_IS_OS_ENTRY (self), NULL);
  return self->name;
}

const char *
tsr_os_entry_get_label (TsrOsEntry *self)
{
  g_return_val_if_fail (TSR_IS_OS_ENTRY (self), NULL);
  return self->label;
}

static int
entry_compare (gconstpointer a,
               gconstpointer b,
               gpointer      user_data)
{
  return g_utf8_collate (TSR_OS_ENTRY ((gpointer) a)->name, TSR_OS_ENTRY ((gpointer) b)->name);
}

static gpointer
list_worker (gpointer       data,
             GCancellable  *cancellable,
             GError       **error)
{
  g_autoptr(OsinfoOsList) list = NULL;
  GListStore *store = g_list_store_new (TSR_TYPE_OS_ENTRY);

  g_mutex_lock (&db_lock);
  list = osinfo_db_get_os_list (db_get ());
  for (gint i = 0; i < osinfo_list_get_length (OSINFO_LIST (list)); i++)
    {
      OsinfoProduct *os = OSINFO_PRODUCT (osinfo_list_get_nth (OSINFO_LIST (list), i));
      const char *id = osinfo_product_get_short_id (os);
      const char *name = osinfo_product_get_name (os);

      if (id != NULL && name != NULL)
        {
          g_autoptr(TsrOsEntry) entry = tsr_os_entry_new (id, name);

          g_list_store_append (store, entry);
        }
    }
  g_mutex_unlock (&db_lock);
  g_list_store_sort (store, entry_compare, NULL);
  return store;
}

void
tsr_osinfo_list_async (GCancellable        *cancellable,
                       GAsyncReadyCallback  callback,
                       gpointer             user_data)
{
  g_autoptr(GTask) task = g_task_new (NULL, cancellable, callback, user_data);

  g_task_set_source_tag (task, tsr_osinfo_list_async);
  tsr_task_run_value_in_thread (task, list_worker, g_object_unref);
}

GListModel *
tsr_osinfo_list_finish (GAsyncResult  *result,
                        GError       **error)
{
  g_return_val_if_fail (g_task_is_valid (result, NULL), NULL);

  return g_task_propagate_pointer (G_TASK (result), error);
}
