/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <glib/gi18n-lib.h>
#include <glib/gstdio.h>
#include <libvirt/libvirt.h>
#include <libvirt/virterror.h>
#include <libxml/parser.h>
#include <libxml/tree.h>

#include "tsr-connection-private.h"
#include "tsr-error.h"
#include "tsr-host.h"
#include "tsr-network.h"
#include "tsr-settings.h"
#include "tsr-storage-private.h"
#include "tsr-validate.h"
#include "tsr-vm-private.h"
#include "tsr-xml-private.h"

/* In the order qvm-prefs lists them. */
const char * const tsr_pref_names[] = {
  "autostart", "class", "debug", "default_user", "firmware", "include_in_backups", "ip",
  "kernel", "kernelopts", "label", "mac", "maxmem", "memory", "name", "netvm", "storage",
  "template", "uuid", "vcpus", "virt_mode", "visible_gateway", "visible_netmask", NULL
};

static const char * const read_only_prefs[] = {
  "class", "ip", "storage", "template", "uuid", "visible_gateway", "visible_netmask", NULL
};

void
tsr_pref_free (TsrPref *pref)
{
  if (pref == NULL)
    return;
  g_free (pref->name);
  g_free (pref->value);
  g_free (pref->default_value);
  g_free (pref);
}

void
tsr_pci_device_free (TsrPciDevice *device)
{
  if (device == NULL)
    return;
  g_free (device->name);
  g_free (device->address);
  g_free (device->qubes_id);
  g_free (device->description);
  g_free (device->assigned_to);
  g_free (device);
}

gboolean
tsr_pref_is_known (const char *name)
{
  return name != NULL && g_strv_contains (tsr_pref_names, name);
}

gboolean
tsr_pref_is_read_only (const char *name)
{
  return name != NULL && g_strv_contains (read_only_prefs, name);
}

/* A VM's settings, read from its persistent definition. */
typedef struct
{
  char     *name;
  char     *uuid;
  char     *label;
  char     *klass;
  char     *template_name;
  char     *virt_mode;
  char     *kernel;
  char     *kernelopts;
  char     *mac;
  char     *netvm;
  char     *firmware;
  char     *default_user;
  char     *storage;
  gboolean  debug;
  gboolean  include_in_backups;
  gboolean  autostart;
  gboolean  mac_fixed;
  gboolean  has_pci;
  guint64   memory;
  guint64   maxmem;
  guint     vcpus;
} Prefs;

static void
prefs_free (Prefs *p)
{
  if (p == NULL)
    return;
  g_free (p->name);
  g_free (p->uuid);
  g_free (p->label);
  g_free (p->klass);
  g_free (p->template_name);
  g_free (p->virt_mode);
  g_free (p->kernel);
  g_free (p->kernelopts);
  g_free (p->mac);
  g_free (p->netvm);
  g_free (p->firmware);
  g_free (p->default_user);
  g_free (p->storage);
  g_free (p);
}

G_DEFINE_AUTOPTR_CLEANUP_FUNC (Prefs, prefs_free)

static Prefs *
prefs_copy (const Prefs *p)
{
  Prefs *c = g_memdup2 (p, sizeof *p);

  c->name = g_strdup (p->name);
  c->uuid = g_strdup (p->uuid);
  c->label = g_strdup (p->label);
  c->klass = g_strdup (p->klass);
  c->template_name = g_strdup (p->template_name);
  c->virt_mode = g_strdup (p->virt_mode);
  c->kernel = g_strdup (p->kernel);
  c->kernelopts = g_strdup (p->kernelopts);
  c->mac = g_strdup (p->mac);
  c->netvm = g_strdup (p->netvm);
  c->firmware = g_strdup (p->firmware);
  c->default_user = g_strdup (p->default_user);
  c->storage = g_strdup (p->storage);
  return c;
}

static xmlNodePtr
tessera_metadata (xmlNodePtr root,
                  gboolean   create)
{
  xmlNodePtr metadata = tsr_xml_child (root, "metadata");

  if (metadata == NULL && create)
    metadata = xmlNewChild (root, NULL, (const xmlChar *) "metadata", NULL);

  for (xmlNodePtr n = metadata ? metadata->children : NULL; n; n = n->next)
    if (n->type == XML_ELEMENT_NODE && n->ns != NULL &&
        g_strcmp0 ((const char *) n->ns->href, TSR_METADATA_NS) == 0)
      return n;

  if (create)
    {
      xmlNodePtr vm = xmlNewChild (metadata, NULL, (const xmlChar *) "vm", NULL);
      xmlNsPtr ns = xmlNewNs (vm, (const xmlChar *) TSR_METADATA_NS,
                              (const xmlChar *) TSR_METADATA_PREFIX);

      xmlSetNs (vm, ns);
      return vm;
    }

  return NULL;
}

static char *
metadata_get (xmlNodePtr  vm,
              const char *key)
{
  xmlNodePtr child = tsr_xml_child (vm, key);

  return child ? tsr_xml_text (child) : NULL;
}

static void
metadata_set (xmlNodePtr  vm,
              const char *key,
              const char *value)
{
  xmlNodePtr child = tsr_xml_child (vm, key);

  if (value == NULL)
    {
      if (child != NULL)
        {
          xmlUnlinkNode (child);
          xmlFreeNode (child);
        }
      return;
    }

  if (child == NULL)
    child = xmlNewChild (vm, vm->ns, (const xmlChar *) key, NULL);
  xmlNodeSetContent (child, (const xmlChar *) value);
}

static gboolean
parse_bool (const char *text,
            gboolean    fallback)
{
  if (text == NULL)
    return fallback;
  return g_ascii_strcasecmp (text, "true") == 0 || g_str_equal (text, "1") ||
         g_ascii_strcasecmp (text, "yes") == 0 || g_ascii_strcasecmp (text, "on") == 0;
}

static Prefs *
prefs_parse (const char  *xml,
             const char  *kernels_dir,
             GError     **error)
{
  g_autoptr(TsrVmConfig) config = tsr_vm_config_parse (xml, kernels_dir, error);
  g_autoptr(Prefs) p = NULL;
  xmlDocPtr doc;
  xmlNodePtr root, os, devices, vm;

  if (config == NULL)
    return NULL;

  p = g_new0 (Prefs, 1);
  p->name = g_strdup (config->name);
  p->uuid = g_strdup (config->uuid);
  p->label = g_strdup (config->label);
  p->klass = g_strdup (config->klass);
  p->template_name = g_strdup (config->template_name);
  p->virt_mode = g_strdup (config->virt_mode);
  p->kernel = g_strdup (config->kernel);
  p->mac = g_strdup (config->mac);
  p->netvm = g_strdup (config->netvm);
  p->memory = config->memory;
  p->maxmem = config->maxmem;
  p->vcpus = config->vcpus;

  doc = xmlReadMemory (xml, strlen (xml), "d.xml", NULL, XML_PARSE_NONET | XML_PARSE_NOERROR);
  root = xmlDocGetRootElement (doc);
  os = tsr_xml_child (root, "os");
  devices = tsr_xml_child (root, "devices");
  vm = tessera_metadata (root, FALSE);

  p->kernelopts = tsr_xml_child (os, "cmdline") && tsr_xml_child (os, "kernel")
                  ? tsr_xml_text (tsr_xml_child (os, "cmdline")) : g_strdup ("");
  {
    g_autofree char *firmware = os ? tsr_xml_prop (os, "firmware") : NULL;
    xmlNodePtr loader = tsr_xml_child (os, "loader");

    p->firmware = g_strdup (g_strcmp0 (firmware, "efi") == 0 || loader != NULL ? "uefi" : "bios");
  }

  {
    g_autofree char *debug = metadata_get (vm, "debug");
    g_autofree char *backups = metadata_get (vm, "include-in-backups");
    g_autofree char *fixed = metadata_get (vm, "mac-fixed");

    p->debug = parse_bool (debug, FALSE);
    p->include_in_backups = parse_bool (backups, TRUE);
    p->mac_fixed = parse_bool (fixed, FALSE);
    p->default_user = metadata_get (vm, "default-user");
    if (p->default_user == NULL)
      p->default_user = g_strdup ("user");
  }

  for (xmlNodePtr d = devices ? devices->children : NULL; d; d = d->next)
    {
      if (tsr_xml_is (d, "hostdev"))
        {
          g_autofree char *type = tsr_xml_prop (d, "type");

          if (g_strcmp0 (type, "pci") == 0)
            p->has_pci = TRUE;
        }
      else if (tsr_xml_is (d, "disk") && p->storage == NULL)
        {
          g_autofree char *device = tsr_xml_prop (d, "device");
          xmlNodePtr source = tsr_xml_child (d, "source");

          if ((device == NULL || g_str_equal (device, "disk")) && source != NULL)
            {
              p->storage = tsr_xml_prop (source, "file");
              if (p->storage == NULL)
                p->storage = tsr_xml_prop (source, "dev");
            }
        }
    }
  if (p->storage == NULL)
    p->storage = g_strdup ("");

  xmlFreeDoc (doc);
  return g_steal_pointer (&p);
}

static const char *
bool_text (gboolean value)
{
  return value ? "True" : "False";
}

static void
add_pref (GPtrArray  *prefs,
          const char *name,
          const char *value,
          const char *default_value)
{
  TsrPref *pref = g_new0 (TsrPref, 1);

  pref->name = g_strdup (name);
  pref->value = g_strdup (value ? value : "");
  pref->default_value = g_strdup (default_value);
  pref->is_default = default_value != NULL && g_strcmp0 (pref->value, default_value) == 0;
  pref->read_only = tsr_pref_is_read_only (name);
  g_ptr_array_add (prefs, pref);
}

static const char *
default_netvm (void)
{
  const char *env = g_getenv ("TESSERA_DEFAULT_NETVM");

  return env && *env ? env : TSR_MANAGED_NETWORK_NAME;
}

static GPtrArray *
prefs_to_list (const Prefs *p,
               TsrVm       *vm)
{
  GPtrArray *list = g_ptr_array_new_with_free_func ((GDestroyNotify) tsr_pref_free);
  g_autofree char *memory = g_strdup_printf ("%" G_GUINT64_FORMAT, p->memory);
  g_autofree char *maxmem = g_strdup_printf ("%" G_GUINT64_FORMAT, p->maxmem);
  g_autofree char *vcpus = g_strdup_printf ("%u", p->vcpus);

  for (guint i = 0; tsr_pref_names[i] != NULL; i++)
    {
      const char *n = tsr_pref_names[i];

      if (g_str_equal (n, "autostart")) add_pref (list, n, bool_text (p->autostart), "False");
      else if (g_str_equal (n, "class")) add_pref (list, n, p->klass, NULL);
      else if (g_str_equal (n, "debug")) add_pref (list, n, bool_text (p->debug), "False");
      else if (g_str_equal (n, "default_user")) add_pref (list, n, p->default_user, "user");
      else if (g_str_equal (n, "firmware")) add_pref (list, n, p->firmware, "bios");
      else if (g_str_equal (n, "include_in_backups"))
        add_pref (list, n, bool_text (p->include_in_backups), "True");
      else if (g_str_equal (n, "ip")) add_pref (list, n, vm ? tsr_vm_get_ip (vm) : NULL, NULL);
      else if (g_str_equal (n, "kernel")) add_pref (list, n, p->kernel, "");
      else if (g_str_equal (n, "kernelopts"))
        add_pref (list, n, p->kernelopts, *p->kernel ? TSR_DEFAULT_KERNELOPTS : "");
      else if (g_str_equal (n, "label")) add_pref (list, n, p->label, NULL);
      else if (g_str_equal (n, "mac"))
        {
          add_pref (list, n, p->mac, NULL);
          ((TsrPref *) g_ptr_array_index (list, list->len - 1))->is_default = !p->mac_fixed;
        }
      else if (g_str_equal (n, "maxmem")) add_pref (list, n, maxmem, "0");
      else if (g_str_equal (n, "memory")) add_pref (list, n, memory, "400");
      else if (g_str_equal (n, "name")) add_pref (list, n, p->name, NULL);
      else if (g_str_equal (n, "netvm")) add_pref (list, n, p->netvm, default_netvm ());
      else if (g_str_equal (n, "storage")) add_pref (list, n, p->storage, NULL);
      else if (g_str_equal (n, "template")) add_pref (list, n, p->template_name, NULL);
      else if (g_str_equal (n, "uuid")) add_pref (list, n, p->uuid, NULL);
      else if (g_str_equal (n, "vcpus")) add_pref (list, n, vcpus, "2");
      else if (g_str_equal (n, "virt_mode")) add_pref (list, n, p->virt_mode, "hvm");
      else if (g_str_equal (n, "visible_gateway"))
        add_pref (list, n, vm ? tsr_vm_get_gateway (vm) : NULL, NULL);
      else if (g_str_equal (n, "visible_netmask"))
        add_pref (list, n, vm ? tsr_vm_get_netmask (vm) : NULL, NULL);
    }

  return list;
}

/* Reading */

typedef struct
{
  virConnectPtr  conn;
  char          *uuid;
  char          *kernels_dir;
  Prefs         *prefs;
} ReadData;

static void
read_data_free (ReadData *data)
{
  if (data->conn != NULL)
    virConnectClose (data->conn);
  g_free (data->uuid);
  g_free (data->kernels_dir);
  prefs_free (data->prefs);
  g_free (data);
}

static Prefs *
read_prefs_sync (virConnectPtr   conn,
                 virDomainPtr    dom,
                 const char     *kernels_dir,
                 GError        **error)
{
  g_autofree char *xml = virDomainGetXMLDesc (dom, VIR_DOMAIN_XML_INACTIVE);
  Prefs *p;
  int autostart = 0;

  if (xml == NULL)
    {
      tsr_error_set_from_libvirt (error, _("Could not read the VM’s definition"));
      return NULL;
    }
  if (!(p = prefs_parse (xml, kernels_dir, error)))
    return NULL;
  if (virDomainGetAutostart (dom, &autostart) == 0)
    p->autostart = autostart != 0;
  virResetLastError ();
  return p;
}

static void
read_worker (GTask        *task,
             gpointer      source_object,
             gpointer      task_data,
             GCancellable *cancellable)
{
  ReadData *data = task_data;
  virDomainPtr dom = virDomainLookupByUUIDString (data->conn, data->uuid);
  GError *error = NULL;

  if (dom == NULL)
    {
      tsr_error_set_from_libvirt (&error, _("Could not find the VM"));
      g_task_return_error (task, error);
      return;
    }

  data->prefs = read_prefs_sync (data->conn, dom, data->kernels_dir, &error);
  virDomainFree (dom);
  if (data->prefs == NULL)
    g_task_return_error (task, error);
  else
    g_task_return_boolean (task, TRUE);
}

static gboolean
need_connection (TsrConnection *self,
                 GTask         *task)
{
  if (tsr_connection_get_handle (self) != NULL)
    return TRUE;
  g_task_return_new_error (task, TSR_ERROR, TSR_ERROR_CONNECTION,
                           _("Not connected to %s: wait until Tessera has reconnected, then "
                             "try again."), tsr_connection_get_uri (self));
  return FALSE;
}

void
tsr_connection_get_prefs_async (TsrConnection       *self,
                                TsrVm               *vm,
                                GCancellable        *cancellable,
                                GAsyncReadyCallback  callback,
                                gpointer             user_data)
{
  g_autoptr(GTask) task = NULL;
  ReadData *data;

  g_return_if_fail (TSR_IS_CONNECTION (self));
  g_return_if_fail (TSR_IS_VM (vm));

  task = g_task_new (self, cancellable, callback, user_data);
  g_task_set_source_tag (task, tsr_connection_get_prefs_async);
  if (!need_connection (self, task))
    return;

  data = g_new0 (ReadData, 1);
  data->conn = tsr_connection_get_handle (self);
  virConnectRef (data->conn);
  data->uuid = g_strdup (tsr_vm_get_uuid (vm));
  data->kernels_dir = g_strdup (tsr_kernels_dir ());
  g_task_set_task_data (task, data, (GDestroyNotify) read_data_free);
  g_object_set_data_full (G_OBJECT (task), "vm", g_object_ref (vm), g_object_unref);
  g_task_run_in_thread (task, read_worker);
}

GPtrArray *
tsr_connection_get_prefs_finish (TsrConnection  *self,
                                 GAsyncResult   *result,
                                 GError        **error)
{
  ReadData *data;

  g_return_val_if_fail (g_task_is_valid (result, self), NULL);

  if (!g_task_propagate_boolean (G_TASK (result), error))
    return NULL;
  data = g_task_get_task_data (G_TASK (result));
  return prefs_to_list (data->prefs, g_object_get_data (G_OBJECT (result), "vm"));
}

/* Changing */

static gboolean
parse_uint_value (const char  *name,
                  const char  *text,
                  guint64     *out,
                  GError     **error)
{
  char *end = NULL;

  if (text == NULL || !g_ascii_isdigit (text[0]) ||
      ((*out = g_ascii_strtoull (text, &end, 10)), *end != '\0'))
    {
      g_set_error (error, TSR_ERROR, TSR_ERROR_INVALID_VALUE,
                   _("%s must be a whole number, not “%s”."), name, text ? text : "");
      return FALSE;
    }
  return TRUE;
}

static gboolean
parse_bool_value (const char  *name,
                  const char  *text,
                  gboolean    *out,
                  GError     **error)
{
  static const char * const yes[] = { "true", "1", "yes", "on", NULL };
  static const char * const no[] = { "false", "0", "no", "off", "", NULL };
  g_autofree char *lower = g_ascii_strdown (text ? text : "", -1);

  if (g_strv_contains (yes, lower))
    *out = TRUE;
  else if (g_strv_contains (no, lower))
    *out = FALSE;
  else
    {
      g_set_error (error, TSR_ERROR, TSR_ERROR_INVALID_VALUE,
                   _("%s must be True or False, not “%s”."), name, text);
      return FALSE;
    }
  return TRUE;
}

static void
replace (char       **field,
         const char  *value)
{
  char *copy = g_strdup (value);

  g_free (*field);
  *field = copy;
}

/* Applies one change (or a reset, VALUE NULL) to P; only the form of the
 * value is checked here, the rules afterwards on the whole.
 */
static gboolean
prefs_apply (Prefs       *p,
             const char  *name,
             const char  *value,
             GError     **error)
{
  guint64 number;

  if (!tsr_pref_is_known (name))
    {
      g_autofree char *known = g_strjoinv (", ", (char **) tsr_pref_names);

      g_set_error (error, TSR_ERROR, TSR_ERROR_INVALID_VALUE,
                   _("No property “%s”. Properties: %s."), name, known);
      return FALSE;
    }
  if (tsr_pref_is_read_only (name))
    {
      g_set_error (error, TSR_ERROR, TSR_ERROR_INVALID_VALUE,
                   _("Property “%s” is read-only."), name);
      return FALSE;
    }

  if (g_str_equal (name, "memory"))
    {
      if (value == NULL)
        number = 400;
      else if (!parse_uint_value (name, value, &number, error))
        return FALSE;
      p->memory = number;
    }
  else if (g_str_equal (name, "maxmem"))
    {
      if (value == NULL)
        number = 0;
      else if (!parse_uint_value (name, value, &number, error))
        return FALSE;
      p->maxmem = number;
    }
  else if (g_str_equal (name, "vcpus"))
    {
      if (value == NULL)
        number = 2;
      else if (!parse_uint_value (name, value, &number, error))
        return FALSE;
      p->vcpus = (guint) MIN (number, G_MAXUINT);
    }
  else if (g_str_equal (name, "virt_mode"))
    {
      g_autofree char *lower = g_ascii_strdown (value ? value : "hvm", -1);

      if (!g_str_equal (lower, "hvm") && !g_str_equal (lower, "pvh") && !g_str_equal (lower, "pv"))
        {
          g_set_error (error, TSR_ERROR, TSR_ERROR_INVALID_VALUE,
                       _("virt_mode must be hvm, pvh or pv, not “%s”."), value);
          return FALSE;
        }
      replace (&p->virt_mode, lower);
    }
  else if (g_str_equal (name, "kernel"))
    replace (&p->kernel, value == NULL || g_str_equal (value, "none") ||
                         g_str_equal (value, "(none)") ? "" : value);
  else if (g_str_equal (name, "kernelopts"))
    replace (&p->kernelopts, value ? value : "");
  else if (g_str_equal (name, "label"))
    {
      if (value == NULL)
        {
          g_set_error_literal (error, TSR_ERROR, TSR_ERROR_INVALID_VALUE,
                               _("label has no default: set a colour."));
          return FALSE;
        }
      replace (&p->label, value);
    }
  else if (g_str_equal (name, "mac"))
    {
      if (value == NULL || g_str_equal (value, "auto") || *value == '\0')
        {
          /* Back to automatic: keep the MAC, stop calling it fixed. */
          p->mac_fixed = FALSE;
        }
      else
        {
          g_autofree char *mac = NULL;

          if (!tsr_validate_mac (value, error))
            return FALSE;
          mac = tsr_mac_normalize (value);
          replace (&p->mac, mac);
          p->mac_fixed = TRUE;
        }
    }
  else if (g_str_equal (name, "netvm"))
    replace (&p->netvm, value == NULL ? default_netvm () : *value == '\0' ? "none" : value);
  else if (g_str_equal (name, "firmware"))
    {
      g_autofree char *lower = g_ascii_strdown (value ? value : "bios", -1);

      replace (&p->firmware, lower);
    }
  else if (g_str_equal (name, "debug"))
    {
      if (value == NULL)
        p->debug = FALSE;
      else if (!parse_bool_value (name, value, &p->debug, error))
        return FALSE;
    }
  else if (g_str_equal (name, "include_in_backups"))
    {
      if (value == NULL)
        p->include_in_backups = TRUE;
      else if (!parse_bool_value (name, value, &p->include_in_backups, error))
        return FALSE;
    }
  else if (g_str_equal (name, "autostart"))
    {
      if (value == NULL)
        p->autostart = FALSE;
      else if (!parse_bool_value (name, value, &p->autostart, error))
        return FALSE;
    }
  else if (g_str_equal (name, "default_user"))
    replace (&p->default_user, value ? value : "user");
  else if (g_str_equal (name, "name"))
    {
      if (value == NULL)
        {
          g_set_error_literal (error, TSR_ERROR, TSR_ERROR_INVALID_VALUE,
                               _("name has no default: give a new name."));
          return FALSE;
        }
      replace (&p->name, value);
    }

  return TRUE;
}

static GHashTable *
macs_of_others (virConnectPtr  conn,
                const char    *uuid)
{
  GHashTable *macs = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_free);
  virDomainPtr *doms = NULL;
  int n = virConnectListAllDomains (conn, &doms, 0);

  for (int i = 0; i < n; i++)
    {
      char other[VIR_UUID_STRING_BUFLEN];
      g_autofree char *xml = NULL;
      const char *p;

      if (virDomainGetUUIDString (doms[i], other) == 0 && g_str_equal (other, uuid))
        {
          virDomainFree (doms[i]);
          continue;
        }
      xml = virDomainGetXMLDesc (doms[i], VIR_DOMAIN_XML_INACTIVE);
      for (p = xml; p != NULL && (p = strstr (p, "<mac address=")) != NULL;)
        {
          p += strlen ("<mac address=") + 1;
          if (strlen (p) >= 17)
            g_hash_table_replace (macs, g_ascii_strdown (p, 17), g_strdup (virDomainGetName (doms[i])));
        }
      virDomainFree (doms[i]);
    }
  free (doms);
  virResetLastError ();
  return macs;
}

static gboolean
validate_prefs (virConnectPtr   conn,
                const Prefs    *old,
                const Prefs    *p,
                TsrHostCaps    *caps,
                const char     *kernels_dir,
                gboolean        running,
                TsrPrefsFlags   flags,
                char          **warning,
                GError        **error)
{
  if (!g_str_equal (old->name, p->name))
    {
      virDomainPtr other;

      if (!tsr_validate_vm_name (p->name, error))
        return FALSE;
      if ((other = virDomainLookupByName (conn, p->name)) != NULL)
        {
          virDomainFree (other);
          g_set_error (error, TSR_ERROR, TSR_ERROR_NAME_IN_USE,
                       _("A VM named “%s” already exists: choose another name."), p->name);
          return FALSE;
        }
      virResetLastError ();
      if (running)
        {
          g_set_error (error, TSR_ERROR, TSR_ERROR_VM_RUNNING,
                       _("“%s” is running: shut it down (qvm-shutdown --wait %s) before "
                         "renaming it."), old->name, old->name);
          return FALSE;
        }
    }

  if (p->label == NULL || !g_strv_contains (tsr_vm_labels, p->label))
    {
      g_autofree char *labels = g_strjoinv (", ", (char **) tsr_vm_labels);

      g_set_error (error, TSR_ERROR, TSR_ERROR_INVALID_VALUE,
                   _("“%s” is not a label: use one of %s."), p->label ? p->label : "", labels);
      return FALSE;
    }

  if (p->memory < 64)
    {
      g_set_error (error, TSR_ERROR, TSR_ERROR_INVALID_VALUE,
                   _("Memory of %" G_GUINT64_FORMAT " MiB is too little: give at least 64 MiB."),
                   p->memory);
      return FALSE;
    }
  if (p->maxmem != 0 && p->maxmem < p->memory)
    {
      g_set_error (error, TSR_ERROR, TSR_ERROR_INVALID_VALUE,
                   _("Max memory (%" G_GUINT64_FORMAT " MiB) is below memory (%" G_GUINT64_FORMAT
                     " MiB): make it 0 (no balloon) or at least the memory."),
                   p->maxmem, p->memory);
      return FALSE;
    }
  if (p->vcpus < 1 || p->vcpus > caps->host_cpus)
    {
      g_set_error (error, TSR_ERROR, TSR_ERROR_INVALID_VALUE,
                   _("%u vCPUs is not possible here: give between 1 and %u, the host’s CPUs."),
                   p->vcpus, caps->host_cpus);
      return FALSE;
    }
  if (strlen (p->kernelopts) > 512 || strchr (p->kernelopts, '\n') != NULL)
    {
      g_set_error_literal (error, TSR_ERROR, TSR_ERROR_INVALID_VALUE,
                           _("Kernel options must be one line of at most 512 characters."));
      return FALSE;
    }
  if (*p->kernel != '\0' && g_strcmp0 (p->kernel, old->kernel) != 0 &&
      !tsr_kernel_exists (kernels_dir, p->kernel))
    {
      g_auto(GStrv) kernels = tsr_kernels_list (kernels_dir);
      g_autofree char *list = g_strjoinv (", ", kernels);

      g_set_error (error, TSR_ERROR, TSR_ERROR_NOT_FOUND,
                   _("Kernel “%s” is not installed in %s. Installed: %s."), p->kernel,
                   kernels_dir, *list ? list : _("none"));
      return FALSE;
    }

  if (g_str_equal (p->virt_mode, "pv") && !caps->xen_pv)
    {
      g_set_error_literal (error, TSR_ERROR, TSR_ERROR_NOT_SUPPORTED,
                           _("This host cannot run PV VMs (it is not a Xen host): use virt_mode "
                             "hvm, or pvh with a kernel."));
      return FALSE;
    }
  if (!g_str_equal (p->virt_mode, "hvm") && *p->kernel == '\0')
    {
      g_set_error (error, TSR_ERROR, TSR_ERROR_INVALID_VALUE,
                   _("virt_mode %s needs a kernel: choose one, or use virt_mode hvm to boot "
                     "from the disk or install media."), p->virt_mode);
      return FALSE;
    }
  if (!g_str_equal (p->virt_mode, "hvm") && p->has_pci)
    {
      g_set_error (error, TSR_ERROR, TSR_ERROR_INVALID_VALUE,
                   _("This VM has PCI devices assigned, which need virt_mode hvm: detach them "
                     "first to use %s."), p->virt_mode);
      return FALSE;
    }

  if (!g_str_equal (p->firmware, "bios") && !g_str_equal (p->firmware, "uefi"))
    {
      g_set_error (error, TSR_ERROR, TSR_ERROR_INVALID_VALUE,
                   _("Firmware must be bios or uefi, not “%s”."), p->firmware);
      return FALSE;
    }
  if (g_str_equal (p->firmware, "uefi") && !g_str_equal (old->firmware, "uefi") && !caps->uefi)
    {
      g_set_error_literal (error, TSR_ERROR, TSR_ERROR_NOT_SUPPORTED,
                           _("This host has no UEFI firmware for VMs: install the “ovmf” package, "
                             "or use bios."));
      return FALSE;
    }

  if (!g_str_equal (p->netvm, "none") && g_strcmp0 (p->netvm, old->netvm) != 0)
    {
      virNetworkPtr net = virNetworkLookupByName (conn, p->netvm);

      virResetLastError ();
      if (net == NULL)
        {
          g_set_error (error, TSR_ERROR, TSR_ERROR_NOT_FOUND,
                       _("No network named “%s”: use an existing libvirt network, or none."),
                       p->netvm);
          return FALSE;
        }
      virNetworkFree (net);
    }

  if (p->mac != NULL && g_strcmp0 (p->mac, old->mac) != 0)
    {
      g_autoptr(GHashTable) macs = macs_of_others (conn, p->uuid);
      const char *owner = g_hash_table_lookup (macs, p->mac);

      if (owner != NULL && !(flags & TSR_PREFS_FORCE_MAC))
        {
          g_set_error (error, TSR_ERROR, TSR_ERROR_MAC_IN_USE,
                       _("MAC %s is used by “%s”. To share it on purpose (for example for "
                         "licence activation), insist (qvm-prefs --force); only one of the two "
                         "may run at a time."), p->mac, owner);
          return FALSE;
        }
      if (owner != NULL)
        *warning = g_strdup_printf (_("“%s” uses MAC %s too: only one of the two may run at a "
                                      "time."), owner, p->mac);
    }

  return TRUE;
}

/* Writes P into the definition in DOC. */
static void
prefs_write_xml (xmlDocPtr    doc,
                 const Prefs *old,
                 const Prefs *p,
                 const char  *kernels_dir)
{
  xmlNodePtr root = xmlDocGetRootElement (doc);
  xmlNodePtr os = tsr_xml_child (root, "os");
  xmlNodePtr devices = tsr_xml_child (root, "devices");
  xmlNodePtr node, vm;
  g_autofree char *text = NULL;

  /* memory: libvirt's memory is the ceiling, currentMemory the start. */
  node = tsr_xml_child (root, "memory");
  if (node == NULL)
    node = xmlNewChild (root, NULL, (const xmlChar *) "memory", NULL);
  xmlSetProp (node, (const xmlChar *) "unit", (const xmlChar *) "KiB");
  text = g_strdup_printf ("%" G_GUINT64_FORMAT, MAX (p->maxmem, p->memory) * 1024);
  xmlNodeSetContent (node, (const xmlChar *) text);
  g_clear_pointer (&text, g_free);
  node = tsr_xml_child (root, "currentMemory");
  if (node == NULL)
    node = xmlNewChild (root, NULL, (const xmlChar *) "currentMemory", NULL);
  xmlSetProp (node, (const xmlChar *) "unit", (const xmlChar *) "KiB");
  text = g_strdup_printf ("%" G_GUINT64_FORMAT, p->memory * 1024);
  xmlNodeSetContent (node, (const xmlChar *) text);
  g_clear_pointer (&text, g_free);

  if (p->vcpus != old->vcpus)
    {
      node = tsr_xml_child (root, "vcpu");
      if (node == NULL)
        node = xmlNewChild (root, NULL, (const xmlChar *) "vcpu", NULL);
      xmlUnsetProp (node, (const xmlChar *) "current");
      text = g_strdup_printf ("%u", p->vcpus);
      xmlNodeSetContent (node, (const xmlChar *) text);
      g_clear_pointer (&text, g_free);
    }

  if (os != NULL && (g_strcmp0 (p->kernel, old->kernel) != 0 ||
                     g_strcmp0 (p->kernelopts, old->kernelopts) != 0 ||
                     g_strcmp0 (p->virt_mode, old->virt_mode) != 0))
    {
      const char *kids[] = { "kernel", "initrd", "cmdline" };
      xmlNodePtr type = tsr_xml_child (os, "type");

      for (guint i = 0; i < G_N_ELEMENTS (kids); i++)
        while ((node = tsr_xml_child (os, kids[i])) != NULL)
          {
            xmlUnlinkNode (node);
            xmlFreeNode (node);
          }
      if (type != NULL)
        xmlNodeSetContent (type, (const xmlChar *) (g_str_equal (p->virt_mode, "pv") ? "xen" : "hvm"));

      if (*p->kernel != '\0')
        {
          g_autofree char *vmlinuz = g_build_filename (kernels_dir, p->kernel, "vmlinuz", NULL);
          g_autofree char *initramfs = g_build_filename (kernels_dir, p->kernel, "initramfs", NULL);

          xmlNewTextChild (os, NULL, (const xmlChar *) "kernel", (const xmlChar *) vmlinuz);
          if (g_file_test (initramfs, G_FILE_TEST_EXISTS))
            xmlNewTextChild (os, NULL, (const xmlChar *) "initrd", (const xmlChar *) initramfs);
          xmlNewTextChild (os, NULL, (const xmlChar *) "cmdline",
                           (const xmlChar *) (*p->kernelopts ? p->kernelopts
                                                             : TSR_DEFAULT_KERNELOPTS));
        }
      else if (tsr_xml_child (os, "boot") == NULL)
        {
          node = xmlNewChild (os, NULL, (const xmlChar *) "boot", NULL);
          xmlSetProp (node, (const xmlChar *) "dev", (const xmlChar *) "hd");
        }
    }

  if (os != NULL && g_strcmp0 (p->firmware, old->firmware) != 0)
    {
      if (g_str_equal (p->firmware, "uefi"))
        xmlSetProp (os, (const xmlChar *) "firmware", (const xmlChar *) "efi");
      else
        {
          xmlUnsetProp (os, (const xmlChar *) "firmware");
          while ((node = tsr_xml_child (os, "loader")) != NULL || (node = tsr_xml_child (os, "nvram")) != NULL)
            {
              xmlUnlinkNode (node);
              xmlFreeNode (node);
            }
        }
    }

  /* Network: the first interface follows netvm and mac. */
  if (devices != NULL)
    {
      xmlNodePtr iface = NULL;

      for (node = devices->children; node != NULL && iface == NULL; node = node->next)
        if (tsr_xml_is (node, "interface"))
          iface = node;

      if (g_str_equal (p->netvm, "none"))
        {
          if (iface != NULL)
            {
              xmlUnlinkNode (iface);
              xmlFreeNode (iface);
            }
        }
      else
        {
          xmlNodePtr source, mac;

          if (iface == NULL)
            {
              iface = xmlNewChild (devices, NULL, (const xmlChar *) "interface", NULL);
              node = xmlNewChild (iface, NULL, (const xmlChar *) "model", NULL);
              xmlSetProp (node, (const xmlChar *) "type", (const xmlChar *) "virtio");
            }
          xmlSetProp (iface, (const xmlChar *) "type", (const xmlChar *) "network");
          source = tsr_xml_child (iface, "source");
          if (source == NULL)
            source = xmlNewChild (iface, NULL, (const xmlChar *) "source", NULL);
          xmlUnsetProp (source, (const xmlChar *) "bridge");
          xmlSetProp (source, (const xmlChar *) "network", (const xmlChar *) p->netvm);
          mac = tsr_xml_child (iface, "mac");
          if (mac == NULL)
            mac = xmlNewChild (iface, NULL, (const xmlChar *) "mac", NULL);
          xmlSetProp (mac, (const xmlChar *) "address", (const xmlChar *) p->mac);
        }

      /* debug: the serial console is logged to a file the user can open. */
      for (node = p->debug != old->debug ? devices->children : NULL; node != NULL; node = node->next)
        {
          xmlNodePtr log;

          if (!tsr_xml_is (node, "serial"))
            continue;
          while ((log = tsr_xml_child (node, "log")) != NULL)
            {
              xmlUnlinkNode (log);
              xmlFreeNode (log);
            }
          if (p->debug)
            {
              g_autofree char *path = g_strdup_printf ("/var/log/libvirt/qemu/%s-serial.log",
                                                       p->name);

              log = xmlNewChild (node, NULL, (const xmlChar *) "log", NULL);
              xmlSetProp (log, (const xmlChar *) "file", (const xmlChar *) path);
              xmlSetProp (log, (const xmlChar *) "append", (const xmlChar *) "on");
            }
          break;
        }
    }

  vm = tessera_metadata (root, TRUE);
  metadata_set (vm, "label", p->label);
  metadata_set (vm, "class", p->klass);
  metadata_set (vm, "debug", p->debug ? "true" : NULL);
  metadata_set (vm, "include-in-backups", p->include_in_backups ? NULL : "false");
  metadata_set (vm, "default-user", g_str_equal (p->default_user, "user") ? NULL : p->default_user);
  metadata_set (vm, "mac-fixed", p->mac_fixed ? "true" : NULL);
}

typedef struct
{
  virConnectPtr   conn;
  GMutex         *reserve_lock;
  char           *uuid;
  char           *kernels_dir;
  gboolean        local;
  GHashTable     *changes;
  TsrPrefsFlags   flags;
  char           *next_start;
  char           *warning;
  GPtrArray      *infos;
} WriteData;

static void
write_data_free (WriteData *data)
{
  if (data->conn != NULL)
    virConnectClose (data->conn);
  g_free (data->uuid);
  g_free (data->kernels_dir);
  g_clear_pointer (&data->changes, g_hash_table_unref);
  g_free (data->next_start);
  g_free (data->warning);
  g_clear_pointer (&data->infos, g_ptr_array_unref);
  g_free (data);
}

static TsrHostCaps *
host_caps (virConnectPtr  conn,
           gboolean       local)
{
  g_autofree char *caps_xml = virConnectGetCapabilities (conn);
  g_autofree char *domcaps_xml = virConnectGetDomainCapabilities (conn, NULL, NULL, NULL, NULL, 0);
  virNodeInfo node;
  guint cpus = 1;

  if (virNodeGetInfo (conn, &node) == 0)
    cpus = node.cpus;
  virResetLastError ();
  return tsr_host_caps_parse (caps_xml, domcaps_xml, local, cpus);
}

/* Moves the DHCP host entry of OLD (mac, network, name) to NEW, keeping the
 * address when only the MAC or name changes on the same network.
 */
static gboolean
move_reservation (WriteData    *data,
                  const Prefs  *old,
                  const Prefs  *p,
                  gboolean      undo,
                  GError      **error)
{
  g_autoptr(TsrNetworkInfo) info = NULL;
  g_autofree char *ip = NULL;
  const Prefs *from = undo ? p : old;
  const Prefs *to = undo ? old : p;
  const char *host_name = to->name;
  gboolean had = FALSE;

  if (!g_str_equal (from->netvm, "none") && from->mac != NULL)
    {
      virNetworkPtr net = virNetworkLookupByName (data->conn, from->netvm);
      g_autofree char *xml = net ? virNetworkGetXMLDesc (net, 0) : NULL;
      g_autoptr(TsrNetworkInfo) from_info = xml ? tsr_network_info_new_from_xml (xml, NULL) : NULL;
      const TsrDhcpHost *host = from_info ? tsr_network_info_find_host (from_info, from->mac) : NULL;

      had = host != NULL;
      /* The address stays when only the name changes. A new MAC keeps it too
       * unless dnsmasq still holds a lease for the old MAC on it: it would
       * not hand the address to another client before that lease expires.
       */
      if (host != NULL && g_str_equal (from->netvm, to->netvm))
        {
          gboolean leased = FALSE;

          if (net != NULL && g_strcmp0 (from->mac, to->mac) != 0)
            {
              virNetworkDHCPLeasePtr *leases = NULL;
              int n = virNetworkGetDHCPLeases (net, from->mac, &leases, 0);

              for (int i = 0; i < n; i++)
                {
                  leased |= g_strcmp0 (leases[i]->ipaddr, host->ip) == 0;
                  virNetworkDHCPLeaseFree (leases[i]);
                }
              free (leases);
            }
          if (!leased)
            ip = g_strdup (host->ip);
        }
      if (net != NULL)
        virNetworkFree (net);
      virResetLastError ();
      if (had && !tsr_release_address_sync (data->reserve_lock, data->conn, from->netvm, from->mac,
                                            &info, error))
        return FALSE;
      if (info != NULL)
        g_ptr_array_add (data->infos, g_steal_pointer (&info));
    }

  if (!had || g_str_equal (to->netvm, "none") || to->mac == NULL)
    return TRUE;

  /* A MAC shared on purpose with another VM shares its reservation too; a
   * stale entry holding the name makes the new one go without a name.
   */
  {
    virNetworkPtr net = virNetworkLookupByName (data->conn, to->netvm);
    g_autofree char *xml = net ? virNetworkGetXMLDesc (net, 0) : NULL;
    g_autoptr(TsrNetworkInfo) to_info = xml ? tsr_network_info_new_from_xml (xml, NULL) : NULL;

    if (net != NULL)
      virNetworkFree (net);
    virResetLastError ();
    if (to_info != NULL && tsr_network_info_find_host (to_info, to->mac) != NULL)
      return TRUE;
    for (guint i = 0; to_info != NULL && i < to_info->hosts->len; i++)
      if (g_strcmp0 (((TsrDhcpHost *) g_ptr_array_index (to_info->hosts, i))->name, to->name) == 0)
        host_name = NULL;
  }

  if (ip != NULL)
    {
      /* Same network: the same address, for the new MAC or name. */
      virNetworkPtr net = virNetworkLookupByName (data->conn, to->netvm);
      g_autofree char *host_xml = tsr_network_build_host_xml (to->mac, host_name, ip);
      unsigned int flags = VIR_NETWORK_UPDATE_AFFECT_CONFIG;
      g_autoptr(GMutexLocker) locker = g_mutex_locker_new (data->reserve_lock);

      if (net != NULL && virNetworkIsActive (net) == 1)
        flags |= VIR_NETWORK_UPDATE_AFFECT_LIVE;
      if (net == NULL || virNetworkUpdate (net, VIR_NETWORK_UPDATE_COMMAND_ADD_LAST,
                                           VIR_NETWORK_SECTION_IP_DHCP_HOST, -1, host_xml,
                                           flags) < 0)
        {
          tsr_error_set_from_libvirt (error, _("Could not move the address reservation"));
          if (net != NULL)
            virNetworkFree (net);
          return FALSE;
        }
      {
        g_autofree char *xml = virNetworkGetXMLDesc (net, 0);
        TsrNetworkInfo *after = xml ? tsr_network_info_new_from_xml (xml, NULL) : NULL;

        if (after != NULL)
          g_ptr_array_add (data->infos, after);
      }
      virNetworkFree (net);
      return TRUE;
    }

  {
    g_autofree char *new_ip = NULL;

    if (!tsr_reserve_address_sync (data->reserve_lock, data->conn, to->netvm, to->mac, to->name,
                                   &new_ip, &info, error))
      return FALSE;
    if (info != NULL)
      g_ptr_array_add (data->infos, g_steal_pointer (&info));
  }
  return TRUE;
}

/* Renames the VM's volumes named NAME-… in their pools' folders, and the
 * disk paths in DOC with them.
 */
static gboolean
rename_volumes (WriteData   *data,
                xmlDocPtr    doc,
                const char  *from,
                const char  *to,
                GError     **error)
{
  xmlNodePtr devices = tsr_xml_child (xmlDocGetRootElement (doc), "devices");
  g_autofree char *prefix = g_strconcat (from, "-", NULL);

  for (xmlNodePtr d = devices ? devices->children : NULL; d; d = d->next)
    {
      xmlNodePtr source = tsr_xml_is (d, "disk") ? tsr_xml_child (d, "source") : NULL;
      g_autofree char *path = source ? tsr_xml_prop (source, "file") : NULL;
      g_autofree char *base = path ? g_path_get_basename (path) : NULL;
      g_autofree char *dir = path ? g_path_get_dirname (path) : NULL;
      g_autofree char *new_base = NULL;
      g_autofree char *new_path = NULL;
      virStorageVolPtr vol;

      if (base == NULL || !g_str_has_prefix (base, prefix))
        continue;
      vol = virStorageVolLookupByPath (data->conn, path);
      virResetLastError ();
      if (vol == NULL)
        continue;
      virStorageVolFree (vol);

      new_base = g_strconcat (to, base + strlen (from), NULL);
      new_path = g_build_filename (dir, new_base, NULL);
      if (g_file_test (new_path, G_FILE_TEST_EXISTS))
        {
          g_set_error (error, TSR_ERROR, TSR_ERROR_NAME_IN_USE,
                       _("A volume “%s” already exists: remove it or choose another name."),
                       new_path);
          return FALSE;
        }
      if (g_rename (path, new_path) != 0)
        {
          g_set_error (error, TSR_ERROR, TSR_ERROR_FAILED, _("Could not rename “%s”: %s"),
                       path, g_strerror (errno));
          return FALSE;
        }
      xmlSetProp (source, (const xmlChar *) "file", (const xmlChar *) new_path);
    }

  return TRUE;
}

static void
undo_rename_volumes (xmlDocPtr   doc,
                     const char *from,
                     const char *to)
{
  xmlNodePtr devices = tsr_xml_child (xmlDocGetRootElement (doc), "devices");
  g_autofree char *prefix = g_strconcat (to, "-", NULL);

  for (xmlNodePtr d = devices ? devices->children : NULL; d; d = d->next)
    {
      xmlNodePtr source = tsr_xml_is (d, "disk") ? tsr_xml_child (d, "source") : NULL;
      g_autofree char *path = source ? tsr_xml_prop (source, "file") : NULL;
      g_autofree char *base = path ? g_path_get_basename (path) : NULL;
      g_autofree char *dir = path ? g_path_get_dirname (path) : NULL;

      if (base == NULL || !g_str_has_prefix (base, prefix))
        continue;
      {
        g_autofree char *joined = g_strconcat (dir, "/", from, base + strlen (to), NULL);

        if (g_rename (path, joined) == 0)
          xmlSetProp (source, (const xmlChar *) "file", (const xmlChar *) joined);
      }
    }
}

static void
refresh_pools (virConnectPtr conn)
{
  virStoragePoolPtr *pools = NULL;
  int n = virConnectListAllStoragePools (conn, &pools, VIR_CONNECT_LIST_STORAGE_POOLS_ACTIVE);

  for (int i = 0; i < n; i++)
    {
      virStoragePoolRefresh (pools[i], 0);
      virStoragePoolFree (pools[i]);
    }
  free (pools);
  virResetLastError ();
}

static void
write_worker (GTask        *task,
              gpointer      source_object,
              gpointer      task_data,
              GCancellable *cancellable)
{
  WriteData *data = task_data;
  g_autoptr(TsrHostCaps) caps = NULL;
  g_autoptr(Prefs) old = NULL;
  g_autoptr(Prefs) p = NULL;
  g_autoptr(GString) later = g_string_new (NULL);
  g_autofree char *old_xml = NULL;
  g_autofree char *new_xml = NULL;
  virDomainPtr dom = virDomainLookupByUUIDString (data->conn, data->uuid);
  xmlDocPtr doc = NULL;
  xmlChar *dump = NULL;
  int dump_len = 0;
  gboolean running, renamed_volumes = FALSE, reservation_moved = FALSE, defined = FALSE;
  gboolean rename = FALSE;
  GHashTableIter iter;
  gpointer key, value;
  GError *error = NULL;

  if (dom == NULL)
    {
      tsr_error_set_from_libvirt (&error, _("Could not find the VM"));
      g_task_return_error (task, error);
      return;
    }

  running = virDomainIsActive (dom) == 1;
  old_xml = virDomainGetXMLDesc (dom, VIR_DOMAIN_XML_INACTIVE | VIR_DOMAIN_XML_SECURE);
  if (old_xml == NULL || !(old = read_prefs_sync (data->conn, dom, data->kernels_dir, &error)))
    {
      if (error == NULL)
        tsr_error_set_from_libvirt (&error, _("Could not read the VM’s definition"));
      goto failed;
    }

  p = prefs_copy (old);
  g_hash_table_iter_init (&iter, data->changes);
  while (g_hash_table_iter_next (&iter, &key, &value))
    if (!prefs_apply (p, key, value, &error))
      goto failed;

  /* HVM boots what is on the disk or the install media: choosing it alone
   * leaves the kernel; asking for both at once is a contradiction.
   */
  if (g_str_equal (p->virt_mode, "hvm") && *p->kernel != '\0')
    {
      if (g_hash_table_contains (data->changes, "kernel") &&
          g_hash_table_contains (data->changes, "virt_mode"))
        {
          g_set_error_literal (&error, TSR_ERROR, TSR_ERROR_INVALID_VALUE,
                               _("virt_mode hvm boots from the disk or install media, so it takes "
                                 "no kernel: use virt_mode pvh to boot a kernel directly."));
          goto failed;
        }
      if (g_hash_table_contains (data->changes, "virt_mode"))
        replace (&p->kernel, "");
      else if (!g_str_equal (old->virt_mode, "hvm") || *old->kernel == '\0')
        {
          /* Setting a kernel on an HVM VM: it becomes PVH, as in Qubes. */
          replace (&p->virt_mode, "pvh");
        }
    }

  /* A VM gaining a network needs a MAC. */
  if (!g_str_equal (p->netvm, "none") && p->mac == NULL)
    p->mac = tsr_mac_generate (NULL);

  caps = host_caps (data->conn, data->local);
  if (!validate_prefs (data->conn, old, p, caps, data->kernels_dir, running, data->flags,
                       &data->warning, &error))
    goto failed;

  /* Everything checked: now change. */
  doc = xmlReadMemory (old_xml, strlen (old_xml), "d.xml", NULL, XML_PARSE_NONET);
  prefs_write_xml (doc, old, p, data->kernels_dir);

  rename = !g_str_equal (old->name, p->name);
  if (rename)
    {
      if (!rename_volumes (data, doc, old->name, p->name, &error))
        goto rollback;
      renamed_volumes = TRUE;
    }

  if (g_strcmp0 (old->mac, p->mac) != 0 || g_strcmp0 (old->netvm, p->netvm) != 0 || rename)
    {
      if (!move_reservation (data, old, p, FALSE, &error))
        goto rollback;
      reservation_moved = TRUE;
    }

  xmlDocDumpMemory (doc, &dump, &dump_len);
  new_xml = g_strndup ((const char *) dump, dump_len);
  xmlFree (dump);

  {
    virDomainPtr redefined = virDomainDefineXML (data->conn, new_xml);

    if (redefined == NULL)
      {
        tsr_error_set_from_libvirt (&error, _("The new settings were refused"));
        goto rollback;
      }
    virDomainFree (redefined);
    defined = TRUE;
  }

  if (rename && virDomainRename (dom, p->name, 0) < 0)
    {
      tsr_error_set_from_libvirt (&error, _("Could not rename the VM"));
      goto rollback;
    }
  if (renamed_volumes)
    refresh_pools (data->conn);

  if (p->autostart != old->autostart)
    virDomainSetAutostart (dom, p->autostart ? 1 : 0);

  /* What libvirt can change in a running VM changes now; the rest waits. */
  if (running)
    {
      if (p->memory != old->memory)
        {
          if (p->memory <= MAX (old->maxmem, old->memory) &&
              virDomainSetMemoryFlags (dom, p->memory * 1024, VIR_DOMAIN_AFFECT_LIVE) == 0)
            ;
          else
            g_string_append (later, "memory, ");
        }
      if (p->maxmem != old->maxmem) g_string_append (later, "maxmem, ");
      if (p->vcpus != old->vcpus) g_string_append (later, "vcpus, ");
      if (g_strcmp0 (p->virt_mode, old->virt_mode) != 0) g_string_append (later, "virt_mode, ");
      if (g_strcmp0 (p->kernel, old->kernel) != 0) g_string_append (later, "kernel, ");
      if (g_strcmp0 (p->kernelopts, old->kernelopts) != 0) g_string_append (later, "kernelopts, ");
      if (g_strcmp0 (p->mac, old->mac) != 0) g_string_append (later, "mac, ");
      if (g_strcmp0 (p->netvm, old->netvm) != 0) g_string_append (later, "netvm, ");
      if (g_strcmp0 (p->firmware, old->firmware) != 0) g_string_append (later, "firmware, ");
      if (p->debug != old->debug) g_string_append (later, "debug, ");
      virResetLastError ();
    }
  if (later->len > 0)
    {
      g_string_truncate (later, later->len - 2);
      data->next_start = g_string_free (g_steal_pointer (&later), FALSE);
    }

  xmlFreeDoc (doc);
  virDomainFree (dom);
  g_task_return_boolean (task, TRUE);
  return;

rollback:
  if (defined)
    {
      virDomainPtr back = virDomainDefineXML (data->conn, old_xml);

      if (back != NULL)
        virDomainFree (back);
    }
  if (reservation_moved)
    {
      g_autoptr(GError) ignored = NULL;

      move_reservation (data, old, p, TRUE, &ignored);
    }
  if (renamed_volumes)
    {
      undo_rename_volumes (doc, old->name, p->name);
      refresh_pools (data->conn);
    }
  virResetLastError ();

failed:
  if (doc != NULL)
    xmlFreeDoc (doc);
  virDomainFree (dom);
  g_task_return_error (task, error);
}

static gboolean
uri_is_local (const char *uri)
{
  const char *sep = strstr (uri, "://");

  return sep != NULL && sep[3] == '/';
}

void
tsr_connection_set_prefs_async (TsrConnection       *self,
                                TsrVm               *vm,
                                GHashTable          *changes,
                                TsrPrefsFlags        flags,
                                GCancellable        *cancellable,
                                GAsyncReadyCallback  callback,
                                gpointer             user_data)
{
  g_autoptr(GTask) task = NULL;
  WriteData *data;
  GHashTableIter iter;
  gpointer key, value;

  g_return_if_fail (TSR_IS_CONNECTION (self));
  g_return_if_fail (TSR_IS_VM (vm));
  g_return_if_fail (changes != NULL);

  task = g_task_new (self, cancellable, callback, user_data);
  g_task_set_source_tag (task, tsr_connection_set_prefs_async);
  if (!need_connection (self, task))
    return;

  data = g_new0 (WriteData, 1);
  data->conn = tsr_connection_get_handle (self);
  virConnectRef (data->conn);
  data->reserve_lock = tsr_connection_get_reserve_lock (self);
  data->uuid = g_strdup (tsr_vm_get_uuid (vm));
  data->kernels_dir = g_strdup (tsr_kernels_dir ());
  data->local = uri_is_local (tsr_connection_get_uri (self));
  data->flags = flags;
  data->infos = g_ptr_array_new_with_free_func ((GDestroyNotify) tsr_network_info_free);
  data->changes = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_free);
  g_hash_table_iter_init (&iter, changes);
  while (g_hash_table_iter_next (&iter, &key, &value))
    g_hash_table_insert (data->changes, g_strdup (key), g_strdup (value));
  g_task_set_task_data (task, data, (GDestroyNotify) write_data_free);
  g_task_run_in_thread (task, write_worker);
}

gboolean
tsr_connection_set_prefs_finish (TsrConnection  *self,
                                 GAsyncResult   *result,
                                 char          **next_start,
                                 char          **warning,
                                 GError        **error)
{
  WriteData *data;

  g_return_val_if_fail (g_task_is_valid (result, self), FALSE);

  data = g_task_get_task_data (G_TASK (result));
  if (data != NULL)
    while (data->infos->len > 0)
      tsr_connection_take_network_info (self, g_ptr_array_steal_index (data->infos, 0));

  if (!g_task_propagate_boolean (G_TASK (result), error))
    return FALSE;
  tsr_connection_refresh_vm (self, data->uuid);
  if (next_start != NULL)
    *next_start = g_steal_pointer (&data->next_start);
  if (warning != NULL)
    *warning = g_steal_pointer (&data->warning);
  return TRUE;
}

/* Choices */

typedef struct
{
  virConnectPtr  conn;
  gboolean       local;
  GStrv          virt_modes;
  GStrv          kernels;
} ChoicesData;

static void
choices_data_free (ChoicesData *data)
{
  if (data->conn != NULL)
    virConnectClose (data->conn);
  g_strfreev (data->virt_modes);
  g_strfreev (data->kernels);
  g_free (data);
}

static void
choices_worker (GTask        *task,
                gpointer      source_object,
                gpointer      task_data,
                GCancellable *cancellable)
{
  ChoicesData *data = task_data;
  g_autoptr(TsrHostCaps) caps = host_caps (data->conn, data->local);
  g_autoptr(GStrvBuilder) modes = g_strv_builder_new ();

  if (caps->hvm)
    {
      g_strv_builder_add (modes, "hvm");
      /* PVH on QEMU is direct kernel boot; on Xen the host must list it. */
      if (!g_str_equal (caps->virt_type, "xen") || caps->xen_pvh)
        g_strv_builder_add (modes, "pvh");
    }
  if (caps->xen_pv)
    g_strv_builder_add (modes, "pv");
  data->virt_modes = g_strv_builder_end (modes);
  data->kernels = tsr_kernels_list (tsr_kernels_dir ());
  g_task_return_boolean (task, TRUE);
}

void
tsr_connection_get_choices_async (TsrConnection       *self,
                                  GCancellable        *cancellable,
                                  GAsyncReadyCallback  callback,
                                  gpointer             user_data)
{
  g_autoptr(GTask) task = NULL;
  ChoicesData *data;

  g_return_if_fail (TSR_IS_CONNECTION (self));

  task = g_task_new (self, cancellable, callback, user_data);
  g_task_set_source_tag (task, tsr_connection_get_choices_async);
  if (!need_connection (self, task))
    return;

  data = g_new0 (ChoicesData, 1);
  data->conn = tsr_connection_get_handle (self);
  virConnectRef (data->conn);
  data->local = uri_is_local (tsr_connection_get_uri (self));
  g_task_set_task_data (task, data, (GDestroyNotify) choices_data_free);
  g_task_run_in_thread (task, choices_worker);
}

gboolean
tsr_connection_get_choices_finish (TsrConnection  *self,
                                   GAsyncResult   *result,
                                   GStrv          *virt_modes,
                                   GStrv          *kernels,
                                   GError        **error)
{
  ChoicesData *data;

  g_return_val_if_fail (g_task_is_valid (result, self), FALSE);

  if (!g_task_propagate_boolean (G_TASK (result), error))
    return FALSE;
  data = g_task_get_task_data (G_TASK (result));
  if (virt_modes != NULL)
    *virt_modes = g_steal_pointer (&data->virt_modes);
  if (kernels != NULL)
    *kernels = g_steal_pointer (&data->kernels);
  return TRUE;
}

/* PCI devices */

typedef struct
{
  virConnectPtr  conn;
  char          *uuid;
  char          *device;
  gboolean       attach;
  GPtrArray     *devices;
} PciData;

static void
pci_data_free (PciData *data)
{
  if (data->conn != NULL)
    virConnectClose (data->conn);
  g_free (data->uuid);
  g_free (data->device);
  g_clear_pointer (&data->devices, g_ptr_array_unref);
  g_free (data);
}

static char *
xml_first_text (xmlNodePtr  node,
                const char *name)
{
  for (xmlNodePtr n = node ? node->children : NULL; n; n = n->next)
    {
      if (tsr_xml_is (n, name))
        return tsr_xml_text (n);
      if (n->children != NULL)
        {
          char *found = xml_first_text (n, name);

          if (found != NULL)
            return found;
        }
    }
  return NULL;
}

static TsrPciDevice *
pci_from_xml (const char *name,
              const char *xml)
{
  xmlDocPtr doc = xmlReadMemory (xml, strlen (xml), "n.xml", NULL, XML_PARSE_NONET | XML_PARSE_NOERROR);
  xmlNodePtr root = doc ? xmlDocGetRootElement (doc) : NULL;
  TsrPciDevice *dev;
  g_autofree char *domain = xml_first_text (root, "domain");
  g_autofree char *bus = xml_first_text (root, "bus");
  g_autofree char *slot = xml_first_text (root, "slot");
  g_autofree char *function = xml_first_text (root, "function");
  g_autofree char *vendor = xml_first_text (root, "vendor");
  g_autofree char *product = xml_first_text (root, "product");
  guint d, b, s, f;

  if (doc != NULL)
    xmlFreeDoc (doc);
  if (domain == NULL || bus == NULL || slot == NULL || function == NULL)
    return NULL;

  d = (guint) g_ascii_strtoull (domain, NULL, 0);
  b = (guint) g_ascii_strtoull (bus, NULL, 0);
  s = (guint) g_ascii_strtoull (slot, NULL, 0);
  f = (guint) g_ascii_strtoull (function, NULL, 0);

  dev = g_new0 (TsrPciDevice, 1);
  dev->name = g_strdup (name);
  dev->address = g_strdup_printf ("%04x:%02x:%02x.%x", d, b, s, f);
  dev->qubes_id = g_strdup_printf ("dom0:%02x_%02x.%x", b, s, f);
  dev->description = g_strdup_printf ("%s %s", vendor ? vendor : "", product ? product : "");
  g_strstrip (dev->description);
  return dev;
}

static GPtrArray *
list_pci_sync (virConnectPtr   conn,
               GError        **error)
{
  GPtrArray *list = g_ptr_array_new_with_free_func ((GDestroyNotify) tsr_pci_device_free);
  virNodeDevicePtr *devs = NULL;
  virDomainPtr *doms = NULL;
  int n = virConnectListAllNodeDevices (conn, &devs, VIR_CONNECT_LIST_NODE_DEVICES_CAP_PCI_DEV);
  int m;

  if (n < 0)
    {
      tsr_error_set_from_libvirt (error, _("Could not list the host’s PCI devices"));
      g_ptr_array_unref (list);
      return NULL;
    }

  for (int i = 0; i < n; i++)
    {
      g_autofree char *xml = virNodeDeviceGetXMLDesc (devs[i], 0);
      TsrPciDevice *dev = xml ? pci_from_xml (virNodeDeviceGetName (devs[i]), xml) : NULL;

      if (dev != NULL)
        g_ptr_array_add (list, dev);
      virNodeDeviceFree (devs[i]);
    }
  free (devs);

  /* Which VM holds each: any domain with a matching <hostdev>. */
  m = virConnectListAllDomains (conn, &doms, 0);
  for (int i = 0; i < m; i++)
    {
      g_autofree char *xml = virDomainGetXMLDesc (doms[i], VIR_DOMAIN_XML_INACTIVE);

      for (guint j = 0; xml != NULL && j < list->len; j++)
        {
          TsrPciDevice *dev = g_ptr_array_index (list, j);
          guint d, b, s, f;
          g_autofree char *needle = NULL;

          if (sscanf (dev->address, "%x:%x:%x.%x", &d, &b, &s, &f) != 4)
            continue;
          needle = g_strdup_printf ("<address domain='0x%04x' bus='0x%02x' slot='0x%02x' "
                                    "function='0x%x'/>", d, b, s, f);
          if (strstr (xml, "<hostdev") && strstr (xml, needle))
            dev->assigned_to = g_strdup (virDomainGetName (doms[i]));
        }
      virDomainFree (doms[i]);
    }
  free (doms);
  virResetLastError ();

  return list;
}

static void
list_pci_worker (GTask        *task,
                 gpointer      source_object,
                 gpointer      task_data,
                 GCancellable *cancellable)
{
  PciData *data = task_data;
  GError *error = NULL;

  data->devices = list_pci_sync (data->conn, &error);
  if (data->devices == NULL)
    g_task_return_error (task, error);
  else
    g_task_return_boolean (task, TRUE);
}

void
tsr_connection_list_pci_async (TsrConnection       *self,
                               GCancellable        *cancellable,
                               GAsyncReadyCallback  callback,
                               gpointer             user_data)
{
  g_autoptr(GTask) task = NULL;
  PciData *data;

  g_return_if_fail (TSR_IS_CONNECTION (self));

  task = g_task_new (self, cancellable, callback, user_data);
  g_task_set_source_tag (task, tsr_connection_list_pci_async);
  if (!need_connection (self, task))
    return;

  data = g_new0 (PciData, 1);
  data->conn = tsr_connection_get_handle (self);
  virConnectRef (data->conn);
  g_task_set_task_data (task, data, (GDestroyNotify) pci_data_free);
  g_task_run_in_thread (task, list_pci_worker);
}

GPtrArray *
tsr_connection_list_pci_finish (TsrConnection  *self,
                                GAsyncResult   *result,
                                GError        **error)
{
  PciData *data;

  g_return_val_if_fail (g_task_is_valid (result, self), NULL);

  if (!g_task_propagate_boolean (G_TASK (result), error))
    return NULL;
  data = g_task_get_task_data (G_TASK (result));
  return g_steal_pointer (&data->devices);
}

static void
pci_attach_worker (GTask        *task,
                   gpointer      source_object,
                   gpointer      task_data,
                   GCancellable *cancellable)
{
  PciData *data = task_data;
  g_autoptr(GPtrArray) devices = NULL;
  g_autofree char *xml = NULL;
  g_autoptr(Prefs) prefs = NULL;
  TsrPciDevice *found = NULL;
  virDomainPtr dom;
  GError *error = NULL;
  guint d, b, s, f;

  if (!(devices = list_pci_sync (data->conn, &error)))
    {
      g_task_return_error (task, error);
      return;
    }
  for (guint i = 0; i < devices->len && found == NULL; i++)
    {
      TsrPciDevice *dev = g_ptr_array_index (devices, i);

      if (g_str_equal (dev->name, data->device) || g_str_equal (dev->address, data->device) ||
          g_str_equal (dev->qubes_id, data->device) ||
          g_str_equal (dev->address + 5, data->device))
        found = dev;
    }
  if (found == NULL)
    {
      g_task_return_new_error (task, TSR_ERROR, TSR_ERROR_NOT_FOUND,
                               _("No host PCI device “%s”: run “qvm-pci” to list them."),
                               data->device);
      return;
    }

  dom = virDomainLookupByUUIDString (data->conn, data->uuid);
  if (dom == NULL)
    {
      tsr_error_set_from_libvirt (&error, _("Could not find the VM"));
      g_task_return_error (task, error);
      return;
    }

  if (data->attach && found->assigned_to != NULL)
    {
      g_task_return_new_error (task, TSR_ERROR, TSR_ERROR_INVALID_VALUE,
                               _("%s is already assigned to “%s”: detach it there first."),
                               found->address, found->assigned_to);
      virDomainFree (dom);
      return;
    }

  xml = virDomainGetXMLDesc (dom, VIR_DOMAIN_XML_INACTIVE);
  prefs = xml ? prefs_parse (xml, tsr_kernels_dir (), NULL) : NULL;
  if (data->attach && prefs != NULL && !g_str_equal (prefs->virt_mode, "hvm"))
    {
      g_task_return_new_error (task, TSR_ERROR, TSR_ERROR_INVALID_VALUE,
                               _("PCI devices need virt_mode hvm, and “%s” uses %s: set virt_mode "
                                 "hvm and kernel (none) first."), virDomainGetName (dom),
                               prefs->virt_mode);
      virDomainFree (dom);
      return;
    }

  /* One new persistent definition, as for every other setting. */
  sscanf (found->address, "%x:%x:%x.%x", &d, &b, &s, &f);
  {
    xmlDocPtr doc = xmlReadMemory (xml, strlen (xml), "d.xml", NULL, XML_PARSE_NONET);
    xmlNodePtr devices = tsr_xml_child (xmlDocGetRootElement (doc), "devices");
    g_autofree char *want = g_strdup_printf ("0x%04x:0x%02x:0x%02x:0x%x", d, b, s, f);
    xmlNodePtr match = NULL;
    xmlChar *dump = NULL;
    int len = 0;
    g_autofree char *new_xml = NULL;
    virDomainPtr defined;

    for (xmlNodePtr n = devices ? devices->children : NULL; n && match == NULL; n = n->next)
      {
        xmlNodePtr addr = tsr_xml_is (n, "hostdev") ? tsr_xml_child (tsr_xml_child (n, "source"), "address") : NULL;
        g_autofree char *ad = addr ? tsr_xml_prop (addr, "domain") : NULL;
        g_autofree char *ab = addr ? tsr_xml_prop (addr, "bus") : NULL;
        g_autofree char *as = addr ? tsr_xml_prop (addr, "slot") : NULL;
        g_autofree char *af = addr ? tsr_xml_prop (addr, "function") : NULL;
        g_autofree char *have = NULL;

        if (addr == NULL)
          continue;
        have = g_strdup_printf ("0x%04x:0x%02x:0x%02x:0x%x",
                                (guint) g_ascii_strtoull (ad ? ad : "0", NULL, 0),
                                (guint) g_ascii_strtoull (ab ? ab : "0", NULL, 0),
                                (guint) g_ascii_strtoull (as ? as : "0", NULL, 0),
                                (guint) g_ascii_strtoull (af ? af : "0", NULL, 0));
        if (g_str_equal (have, want))
          match = n;
      }

    if (data->attach && match == NULL)
      {
        xmlNodePtr hostdev = xmlNewChild (devices, NULL, (const xmlChar *) "hostdev", NULL);
        xmlNodePtr source = xmlNewChild (hostdev, NULL, (const xmlChar *) "source", NULL);
        xmlNodePtr addr = xmlNewChild (source, NULL, (const xmlChar *) "address", NULL);
        g_autofree char *sd = g_strdup_printf ("0x%04x", d);
        g_autofree char *sb = g_strdup_printf ("0x%02x", b);
        g_autofree char *ss = g_strdup_printf ("0x%02x", s);
        g_autofree char *sf = g_strdup_printf ("0x%x", f);

        xmlSetProp (hostdev, (const xmlChar *) "mode", (const xmlChar *) "subsystem");
        xmlSetProp (hostdev, (const xmlChar *) "type", (const xmlChar *) "pci");
        xmlSetProp (hostdev, (const xmlChar *) "managed", (const xmlChar *) "yes");
        xmlSetProp (addr, (const xmlChar *) "domain", (const xmlChar *) sd);
        xmlSetProp (addr, (const xmlChar *) "bus", (const xmlChar *) sb);
        xmlSetProp (addr, (const xmlChar *) "slot", (const xmlChar *) ss);
        xmlSetProp (addr, (const xmlChar *) "function", (const xmlChar *) sf);
      }
    else if (!data->attach && match != NULL)
      {
        xmlUnlinkNode (match);
        xmlFreeNode (match);
      }
    else
      {
        xmlFreeDoc (doc);
        virDomainFree (dom);
        g_task_return_new_error (task, TSR_ERROR, TSR_ERROR_INVALID_VALUE,
                                 data->attach ? _("%s is already assigned to this VM.")
                                              : _("%s is not assigned to this VM."),
                                 found->address);
        return;
      }

    xmlDocDumpMemory (doc, &dump, &len);
    new_xml = g_strndup ((const char *) dump, len);
    xmlFree (dump);
    xmlFreeDoc (doc);
    defined = virDomainDefineXML (data->conn, new_xml);
    virDomainFree (dom);
    if (defined == NULL)
      {
        tsr_error_set_from_libvirt (&error, data->attach ? _("Could not attach the device")
                                                         : _("Could not detach the device"));
        g_task_return_error (task, error);
        return;
      }
    virDomainFree (defined);
  }

  g_task_return_boolean (task, TRUE);
}

void
tsr_connection_pci_attach_async (TsrConnection       *self,
                                 TsrVm               *vm,
                                 const char          *device,
                                 gboolean             attach,
                                 GCancellable        *cancellable,
                                 GAsyncReadyCallback  callback,
                                 gpointer             user_data)
{
  g_autoptr(GTask) task = NULL;
  PciData *data;

  g_return_if_fail (TSR_IS_CONNECTION (self));
  g_return_if_fail (TSR_IS_VM (vm));
  g_return_if_fail (device != NULL);

  task = g_task_new (self, cancellable, callback, user_data);
  g_task_set_source_tag (task, tsr_connection_pci_attach_async);
  if (!need_connection (self, task))
    return;

  data = g_new0 (PciData, 1);
  data->conn = tsr_connection_get_handle (self);
  virConnectRef (data->conn);
  data->uuid = g_strdup (tsr_vm_get_uuid (vm));
  data->device = g_strdup (device);
  data->attach = attach;
  g_task_set_task_data (task, data, (GDestroyNotify) pci_data_free);
  g_task_run_in_thread (task, pci_attach_worker);
}

gboolean
tsr_connection_pci_attach_finish (TsrConnection  *self,
                                  GAsyncResult   *result,
                                  GError        **error)
{
  g_return_val_if_fail (g_task_is_valid (result, self), FALSE);
  return g_task_propagate_boolean (G_TASK (result), error);
}
