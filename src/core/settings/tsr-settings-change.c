/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "config.h"

#include <glib/gi18n-lib.h>
#include <libxml/tree.h>

#include "tsr-error.h"
#include "tsr-settings-private.h"
#include "tsr-template.h"
#include "tsr-validate.h"
#include "tsr-xml-private.h"

/* What a set of changes makes of a VM's settings and of its definition.
 * Nothing here talks to libvirt; tsr-settings-write.c checks the result
 * against the rules and commits it.
 */

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

/* What a reset (VALUE NULL) sets, as the user would write it. */
static const char *
reset_value (const char *name)
{
  static const char * const resets[][2] = {
    { "memory", "400" }, { "maxmem", "0" }, { "vcpus", "2" },
    { "debug", "false" }, { "include_in_backups", "true" }, { "autostart", "false" },
  };

  for (guint i = 0; i < G_N_ELEMENTS (resets); i++)
    if (g_str_equal (resets[i][0], name))
      return resets[i][1];
  return NULL;
}

static gboolean
apply_mac (Prefs       *p,
           const char  *value,
           GError     **error)
{
  g_autofree char *mac = NULL;

  if (tsr_settings_mac_is_auto (value))
    {
      /* Which MAC it gets back depends on the other VMs': the worker
       * chooses it (choose_automatic_mac).
       */
      p->mac_fixed = FALSE;
      return TRUE;
    }

  if (!tsr_validate_mac (value, error))
    return FALSE;
  mac = tsr_mac_normalize (value);
  /* Remembered so that a reset can give it back. */
  if (!p->mac_fixed && p->mac != NULL)
    tsr_settings_replace (&p->mac_auto, p->mac);
  tsr_settings_replace (&p->mac, mac);
  p->mac_fixed = TRUE;
  return TRUE;
}

/* Settings whose reset is refused: they have no default. */
static gboolean
apply_required (char        **field,
                const char   *value,
                const char   *missing,
                GError      **error)
{
  if (value == NULL)
    {
      g_set_error_literal (error, TSR_ERROR, TSR_ERROR_INVALID_VALUE, missing);
      return FALSE;
    }
  tsr_settings_replace (field, value);
  return TRUE;
}

static gboolean
apply_virt_mode (Prefs       *p,
                 const char  *value,
                 GError     **error)
{
  g_autofree char *lower = g_ascii_strdown (value ? value : "hvm", -1);

  if (!g_str_equal (lower, "hvm") && !g_str_equal (lower, "pvh") && !g_str_equal (lower, "pv"))
    {
      g_set_error (error, TSR_ERROR, TSR_ERROR_INVALID_VALUE,
                   _("virt_mode must be hvm, pvh or pv, not “%s”."), value);
      return FALSE;
    }
  tsr_settings_replace (&p->virt_mode, lower);
  return TRUE;
}

/* Template-based VMs' own properties (tsr-template.h). */
static gboolean
apply_revisions_to_keep (Prefs       *p,
                         const char  *value,
                         GError     **error)
{
  guint64 keep = TSR_TEMPLATE_DEFAULT_KEEP;

  if (p->revisions_to_keep < 0)
    {
      g_set_error (error, TSR_ERROR, TSR_ERROR_INVALID_VALUE,
                   _("“%s” is a %s: only a TemplateVM keeps root revisions."), p->name,
                   p->klass ? p->klass : "StandaloneVM");
      return FALSE;
    }
  if (value != NULL && !parse_uint_value ("revisions_to_keep", value, &keep, error))
    return FALSE;
  if (keep > TSR_TEMPLATE_MAX_KEEP)
    {
      g_set_error (error, TSR_ERROR, TSR_ERROR_INVALID_VALUE,
                   _("revisions_to_keep is at most %u, not %s."), TSR_TEMPLATE_MAX_KEEP, value);
      return FALSE;
    }
  p->revisions_to_keep = (gint) keep;
  return TRUE;
}

static gboolean
apply_private_size (Prefs       *p,
                    const char  *value,
                    GError     **error)
{
  if (p->private_size == 0)
    {
      g_set_error (error, TSR_ERROR, TSR_ERROR_INVALID_VALUE,
                   _("“%s” is a %s: only an AppVM or a DisposableVM has a private volume."),
                   p->name, p->klass ? p->klass : "StandaloneVM");
      return FALSE;
    }
  if (value == NULL)
    {
      g_set_error_literal (error, TSR_ERROR, TSR_ERROR_INVALID_VALUE,
                           _("private_size has no default: give the new size, e.g. 4GiB (it can "
                             "only grow)."));
      return FALSE;
    }
  return tsr_parse_size (value, G_GUINT64_CONSTANT (1) << 30, &p->private_size, error);
}

static gboolean
apply_value (Prefs       *p,
             const char  *name,
             const char  *value,
             GError     **error)
{
  guint64 number;

  if (value == NULL)
    value = reset_value (name);

  if (g_str_equal (name, "memory"))
    return parse_uint_value (name, value, &p->memory, error);
  if (g_str_equal (name, "maxmem"))
    return parse_uint_value (name, value, &p->maxmem, error);
  if (g_str_equal (name, "vcpus"))
    {
      if (!parse_uint_value (name, value, &number, error))
        return FALSE;
      p->vcpus = (guint) MIN (number, G_MAXUINT);
      return TRUE;
    }
  if (g_str_equal (name, "debug"))
    return parse_bool_value (name, value, &p->debug, error);
  if (g_str_equal (name, "include_in_backups"))
    return parse_bool_value (name, value, &p->include_in_backups, error);
  if (g_str_equal (name, "autostart"))
    return parse_bool_value (name, value, &p->autostart, error);
  if (g_str_equal (name, "virt_mode"))
    return apply_virt_mode (p, value, error);
  if (g_str_equal (name, "mac"))
    return apply_mac (p, value, error);
  if (g_str_equal (name, "label"))
    return apply_required (&p->label, value, _("label has no default: set a colour."), error);
  if (g_str_equal (name, "name"))
    return apply_required (&p->name, value, _("name has no default: give a new name."), error);
  if (g_str_equal (name, "revisions_to_keep"))
    return apply_revisions_to_keep (p, value, error);
  if (g_str_equal (name, "private_size"))
    return apply_private_size (p, value, error);
  if (g_str_equal (name, "template"))
    return apply_required (&p->template_name, value,
                           _("template has no default: name a TemplateVM."), error);

  if (g_str_equal (name, "kernel"))
    tsr_settings_replace (&p->kernel, value == NULL || g_str_equal (value, "none") ||
                                      g_str_equal (value, "(none)") ? "" : value);
  else if (g_str_equal (name, "kernelopts"))
    tsr_settings_replace (&p->kernelopts, value ? value : "");
  else if (g_str_equal (name, "netvm"))
    tsr_settings_replace (&p->netvm, value == NULL ? tsr_settings_default_netvm ()
                                     : *value == '\0' ? "none" : value);
  else if (g_str_equal (name, "firmware"))
    {
      g_autofree char *lower = g_ascii_strdown (value ? value : "bios", -1);

      tsr_settings_replace (&p->firmware, lower);
    }
  else if (g_str_equal (name, "default_user"))
    tsr_settings_replace (&p->default_user, value ? value : "user");

  return TRUE;
}

/* Every value ends up in the definition's XML, which holds neither control
 * characters nor bytes that are not UTF-8 (found by tests/fuzz/fuzz-prefs).
 */
static gboolean
value_is_text (const char  *name,
               const char  *value,
               GError     **error)
{
  if (value == NULL)
    return TRUE;
  if (!g_utf8_validate (value, -1, NULL))
    {
      g_set_error (error, TSR_ERROR, TSR_ERROR_INVALID_VALUE,
                   _("The value of %s is not text (UTF-8)."), name);
      return FALSE;
    }
  for (const char *c = value; *c != '\0'; c++)
    if ((guchar) *c < 0x20 || *c == 0x7f)
      {
        g_set_error (error, TSR_ERROR, TSR_ERROR_INVALID_VALUE,
                     _("The value of %s holds a control character (byte 0x%02x): give one "
                       "line of text."), name, (guint) (guchar) *c);
        return FALSE;
      }
  return TRUE;
}

/* Applies one change (or a reset, VALUE NULL) to P; only the form of the
 * value is checked here, the rules afterwards on the whole.
 */
gboolean
tsr_settings_prefs_apply (Prefs       *p,
                          const char  *name,
                          const char  *value,
                          GError     **error)
{
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

  if (!value_is_text (name, value, error))
    return FALSE;
  return apply_value (p, name, value, error);
}

/* NAME under ROOT, made if missing, holding KIB kibibytes. */
static void
set_kib (xmlNodePtr  root,
         const char *name,
         guint64     kib)
{
  xmlNodePtr node = tsr_xml_child (root, name);
  g_autofree char *text = g_strdup_printf ("%" G_GUINT64_FORMAT, kib);

  if (node == NULL)
    node = tsr_xml_add (root, name, NULL);
  tsr_xml_set (node, "unit", "KiB");
  tsr_xml_set_text (node, text);
}

static void
write_resources (xmlNodePtr   root,
                 const Prefs *old,
                 const Prefs *p)
{
  /* libvirt's memory is the ceiling, currentMemory the start. */
  set_kib (root, "memory", MAX (p->maxmem, p->memory) * 1024);
  set_kib (root, "currentMemory", p->memory * 1024);

  if (p->vcpus != old->vcpus)
    {
      xmlNodePtr node = tsr_xml_child (root, "vcpu");
      g_autofree char *text = g_strdup_printf ("%u", p->vcpus);

      if (node == NULL)
        node = tsr_xml_add (root, "vcpu", NULL);
      xmlUnsetProp (node, (const xmlChar *) "current");
      tsr_xml_set_text (node, text);
    }
}

/* The kernel, its options and the virt mode; then the firmware. */
static void
write_os (xmlNodePtr   os,
          const Prefs *old,
          const Prefs *p,
          const char  *kernels_dir)
{
  if (g_strcmp0 (p->kernel, old->kernel) != 0 ||
      g_strcmp0 (p->kernelopts, old->kernelopts) != 0 ||
      g_strcmp0 (p->virt_mode, old->virt_mode) != 0)
    {
      xmlNodePtr type = tsr_xml_child (os, "type");

      tsr_xml_remove_children (os, "kernel");
      tsr_xml_remove_children (os, "initrd");
      tsr_xml_remove_children (os, "cmdline");
      if (type != NULL)
        tsr_xml_set_text (type, g_str_equal (p->virt_mode, "pv") ? "xen" : "hvm");

      if (*p->kernel != '\0')
        {
          g_autofree char *vmlinuz = g_build_filename (kernels_dir, p->kernel, "vmlinuz", NULL);
          g_autofree char *initramfs = g_build_filename (kernels_dir, p->kernel, "initramfs", NULL);

          tsr_xml_add (os, "kernel", vmlinuz);
          if (g_file_test (initramfs, G_FILE_TEST_EXISTS))
            tsr_xml_add (os, "initrd", initramfs);
          tsr_xml_add (os, "cmdline", *p->kernelopts ? p->kernelopts : TSR_DEFAULT_KERNELOPTS);
        }
      else if (tsr_xml_child (os, "boot") == NULL)
        tsr_xml_add_with (os, "boot", "dev", "hd", NULL);
    }

  if (g_strcmp0 (p->firmware, old->firmware) != 0)
    {
      if (g_str_equal (p->firmware, "uefi"))
        tsr_xml_set (os, "firmware", "efi");
      else
        {
          xmlUnsetProp (os, (const xmlChar *) "firmware");
          tsr_xml_remove_children (os, "loader");
          tsr_xml_remove_children (os, "nvram");
          /* Secure Boot's feature requests need UEFI (libvirt refuses them). */
          tsr_xml_remove_children (os, "firmware");
        }
    }
}

/* The first interface follows netvm and mac. */
static void
write_interface (xmlNodePtr   devices,
                 const Prefs *p)
{
  xmlNodePtr iface = tsr_xml_child (devices, "interface");
  xmlNodePtr source, mac;

  if (g_str_equal (p->netvm, "none"))
    {
      if (iface != NULL)
        {
          xmlUnlinkNode (iface);
          xmlFreeNode (iface);
        }
      return;
    }

  if (iface == NULL)
    {
      iface = tsr_xml_add (devices, "interface", NULL);
      tsr_xml_add_with (iface, "model", "type", "virtio", NULL);
    }
  tsr_xml_set (iface, "type", "network");
  source = tsr_xml_child (iface, "source");
  if (source == NULL)
    source = tsr_xml_add (iface, "source", NULL);
  xmlUnsetProp (source, (const xmlChar *) "bridge");
  tsr_xml_set (source, "network", p->netvm);
  mac = tsr_xml_child (iface, "mac");
  if (mac == NULL)
    mac = tsr_xml_add (iface, "mac", NULL);
  tsr_xml_set (mac, "address", p->mac);
}

/* debug: the serial console is logged to a file the user can open. */
static void
write_serial_log (xmlNodePtr   devices,
                  const Prefs *p)
{
  xmlNodePtr serial = tsr_xml_child (devices, "serial");

  if (serial == NULL)
    return;
  tsr_xml_remove_children (serial, "log");
  if (p->debug)
    {
      g_autofree char *path = g_strdup_printf ("/var/log/libvirt/qemu/%s-serial.log", p->name);

      tsr_xml_add_with (serial, "log", "file", path, "append", "on", NULL);
    }
}

/* Writes P into the definition in DOC. */
void
tsr_settings_prefs_write_xml (xmlDocPtr    doc,
                              const Prefs *old,
                              const Prefs *p,
                              const char  *kernels_dir)
{
  xmlNodePtr root = xmlDocGetRootElement (doc);
  xmlNodePtr os = tsr_xml_child (root, "os");
  xmlNodePtr devices = tsr_xml_child (root, "devices");
  xmlNodePtr vm;

  write_resources (root, old, p);
  if (os != NULL)
    write_os (os, old, p, kernels_dir);
  if (devices != NULL)
    {
      write_interface (devices, p);
      if (p->debug != old->debug)
        write_serial_log (devices, p);
    }

  vm = tsr_settings_tessera_metadata (root, TRUE);
  tsr_settings_metadata_set (vm, "label", p->label);
  tsr_settings_metadata_set (vm, "class", p->klass);
  tsr_settings_metadata_set (vm, "template", p->template_name);
  if (p->revisions_to_keep != old->revisions_to_keep)
    {
      g_autofree char *keep = g_strdup_printf ("%d", p->revisions_to_keep);

      tsr_settings_metadata_set (vm, "revisions-to-keep",
                                 p->revisions_to_keep == TSR_TEMPLATE_DEFAULT_KEEP ? NULL : keep);
    }
  tsr_settings_metadata_set (vm, "debug", p->debug ? "true" : NULL);
  tsr_settings_metadata_set (vm, "include-in-backups", p->include_in_backups ? NULL : "false");
  tsr_settings_metadata_set (vm, "default-user",
                             g_str_equal (p->default_user, "user") ? NULL : p->default_user);
  tsr_settings_metadata_set (vm, "mac-fixed", p->mac_fixed ? "true" : NULL);
  tsr_settings_metadata_set (vm, "mac-auto", p->mac_fixed ? p->mac_auto : NULL);
}
