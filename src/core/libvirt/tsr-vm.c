/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "config.h"

#include <string.h>
#include <glib/gi18n-lib.h>
#include <libxml/parser.h>

#include "tsr-error.h"
#include "tsr-vm-private.h"
#include "tsr-xml-private.h"

struct _TsrVm
{
  GObject     parent_instance;

  char       *name;
  char       *uuid;
  TsrVmState  state;
  char       *label;
  char       *klass;
  char       *template_name;
  char       *virt_mode;
  char       *kernel;
  guint64     memory;
  guint64     maxmem;
  guint       vcpus;
  guint       revision;
  char       *netvm;
  char       *mac;
  char       *ip;
  char       *netmask;
  char       *gateway;
};

G_DEFINE_FINAL_TYPE (TsrVm, tsr_vm, G_TYPE_OBJECT)

enum {
  PROP_0,
  PROP_NAME,
  PROP_UUID,
  PROP_STATE,
  PROP_STATE_TEXT,
  PROP_LABEL,
  PROP_CLASS,
  PROP_TEMPLATE,
  PROP_VIRT_MODE,
  PROP_KERNEL,
  PROP_MEMORY,
  PROP_MAXMEM,
  PROP_VCPUS,
  PROP_REVISION,
  PROP_NETVM,
  PROP_MAC,
  PROP_IP,
  PROP_NETMASK,
  PROP_GATEWAY,
  N_PROPS
};

static GParamSpec *properties[N_PROPS];

const char * const tsr_vm_labels[] = {
  "red", "orange", "yellow", "green", "gray", "blue", "purple", "black", NULL
};

static void
tsr_vm_finalize (GObject *object)
{
  TsrVm *self = (TsrVm *) object;

  g_free (self->name);
  g_free (self->uuid);
  g_free (self->label);
  g_free (self->klass);
  g_free (self->template_name);
  g_free (self->virt_mode);
  g_free (self->kernel);
  g_free (self->netvm);
  g_free (self->mac);
  g_free (self->ip);
  g_free (self->netmask);
  g_free (self->gateway);

  G_OBJECT_CLASS (tsr_vm_parent_class)->finalize (object);
}

static void
tsr_vm_get_property (GObject    *object,
                     guint       prop_id,
                     GValue     *value,
                     GParamSpec *pspec)
{
  TsrVm *self = TSR_VM (object);

  switch (prop_id)
    {
    case PROP_NAME: g_value_set_string (value, self->name); break;
    case PROP_UUID: g_value_set_string (value, self->uuid); break;
    case PROP_STATE: g_value_set_int (value, self->state); break;
    case PROP_STATE_TEXT: g_value_set_string (value, tsr_vm_get_state_text (self)); break;
    case PROP_LABEL: g_value_set_string (value, self->label); break;
    case PROP_CLASS: g_value_set_string (value, self->klass); break;
    case PROP_TEMPLATE: g_value_set_string (value, self->template_name); break;
    case PROP_VIRT_MODE: g_value_set_string (value, self->virt_mode); break;
    case PROP_KERNEL: g_value_set_string (value, self->kernel); break;
    case PROP_MEMORY: g_value_set_uint64 (value, self->memory); break;
    case PROP_MAXMEM: g_value_set_uint64 (value, self->maxmem); break;
    case PROP_VCPUS: g_value_set_uint (value, self->vcpus); break;
    case PROP_REVISION: g_value_set_uint (value, self->revision); break;
    case PROP_NETVM: g_value_set_string (value, self->netvm); break;
    case PROP_MAC: g_value_set_string (value, self->mac); break;
    case PROP_IP: g_value_set_string (value, self->ip); break;
    case PROP_NETMASK: g_value_set_string (value, self->netmask); break;
    case PROP_GATEWAY: g_value_set_string (value, self->gateway); break;
    default: G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static GParamSpec *
string_pspec (const char *name)
{
  return g_param_spec_string (name, NULL, NULL, NULL,
                              G_PARAM_READABLE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);
}

static void
tsr_vm_class_init (TsrVmClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  const GParamFlags flags = G_PARAM_READABLE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS;

  object_class->finalize = tsr_vm_finalize;
  object_class->get_property = tsr_vm_get_property;

  properties[PROP_NAME] = string_pspec ("name");
  properties[PROP_UUID] = string_pspec ("uuid");
  properties[PROP_STATE] = g_param_spec_int ("state", NULL, NULL,
                                             TSR_VM_STATE_UNKNOWN, TSR_VM_STATE_SUSPENDED,
                                             TSR_VM_STATE_UNKNOWN, flags);
  properties[PROP_STATE_TEXT] = string_pspec ("state-text");
  properties[PROP_LABEL] = string_pspec ("label");
  properties[PROP_CLASS] = string_pspec ("class");
  properties[PROP_TEMPLATE] = string_pspec ("template");
  properties[PROP_VIRT_MODE] = string_pspec ("virt-mode");
  properties[PROP_KERNEL] = string_pspec ("kernel");
  properties[PROP_MEMORY] = g_param_spec_uint64 ("memory", NULL, NULL, 0, G_MAXUINT64, 0, flags);
  properties[PROP_MAXMEM] = g_param_spec_uint64 ("maxmem", NULL, NULL, 0, G_MAXUINT64, 0, flags);
  properties[PROP_VCPUS] = g_param_spec_uint ("vcpus", NULL, NULL, 0, G_MAXUINT, 0, flags);
  /**
   * TsrVm:revision:
   *
   * A TemplateVM's newest committed root revision; the revision an AppVM or
   * DisposableVM booted from last (see tsr-template.h).
   */
  properties[PROP_REVISION] = g_param_spec_uint ("revision", NULL, NULL, 0, G_MAXUINT, 0, flags);
  properties[PROP_NETVM] = string_pspec ("netvm");
  properties[PROP_MAC] = string_pspec ("mac");
  properties[PROP_IP] = string_pspec ("ip");
  properties[PROP_NETMASK] = string_pspec ("netmask");
  properties[PROP_GATEWAY] = string_pspec ("gateway");

  g_object_class_install_properties (object_class, N_PROPS, properties);
}

static void
tsr_vm_init (TsrVm *self)
{
  self->label = g_strdup ("gray");
  self->klass = g_strdup ("StandaloneVM");
  self->virt_mode = g_strdup ("hvm");
  self->kernel = g_strdup ("");
  self->netvm = g_strdup ("none");
}

TsrVm *
tsr_vm_new (const char *uuid)
{
  TsrVm *self = g_object_new (TSR_TYPE_VM, NULL);

  self->uuid = g_strdup (uuid);
  return self;
}

static void
set_string (TsrVm       *self,
            char       **field,
            const char  *value,
            guint        prop)
{
  if (g_strcmp0 (*field, value) == 0)
    return;
  g_free (*field);
  *field = g_strdup (value);
  g_object_notify_by_pspec (G_OBJECT (self), properties[prop]);
}

static void
set_u64 (TsrVm   *self,
         guint64 *field,
         guint64  value,
         guint    prop)
{
  if (*field == value)
    return;
  *field = value;
  g_object_notify_by_pspec (G_OBJECT (self), properties[prop]);
}

void
tsr_vm_set_config (TsrVm             *self,
                   const TsrVmConfig *config)
{
  g_return_if_fail (TSR_IS_VM (self));
  g_return_if_fail (config != NULL);

  g_object_freeze_notify (G_OBJECT (self));
  set_string (self, &self->name, config->name, PROP_NAME);
  set_string (self, &self->uuid, config->uuid, PROP_UUID);
  set_string (self, &self->label, config->label, PROP_LABEL);
  set_string (self, &self->klass, config->klass, PROP_CLASS);
  set_string (self, &self->template_name, config->template_name, PROP_TEMPLATE);
  set_string (self, &self->virt_mode, config->virt_mode, PROP_VIRT_MODE);
  set_string (self, &self->kernel, config->kernel, PROP_KERNEL);
  set_string (self, &self->netvm, config->netvm, PROP_NETVM);
  set_string (self, &self->mac, config->mac, PROP_MAC);
  set_u64 (self, &self->memory, config->memory, PROP_MEMORY);
  set_u64 (self, &self->maxmem, config->maxmem, PROP_MAXMEM);
  if (self->vcpus != config->vcpus)
    {
      self->vcpus = config->vcpus;
      g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_VCPUS]);
    }
  if (self->revision != config->revision)
    {
      self->revision = config->revision;
      g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_REVISION]);
    }
  g_object_thaw_notify (G_OBJECT (self));
}

void
tsr_vm_set_state (TsrVm      *self,
                  TsrVmState  state)
{
  g_return_if_fail (TSR_IS_VM (self));

  if (self->state == state)
    return;
  self->state = state;
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_STATE]);
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_STATE_TEXT]);
}

void
tsr_vm_set_address (TsrVm      *self,
                    const char *ip,
                    const char *netmask,
                    const char *gateway)
{
  g_return_if_fail (TSR_IS_VM (self));

  g_object_freeze_notify (G_OBJECT (self));
  set_string (self, &self->ip, ip, PROP_IP);
  set_string (self, &self->netmask, netmask, PROP_NETMASK);
  set_string (self, &self->gateway, gateway, PROP_GATEWAY);
  g_object_thaw_notify (G_OBJECT (self));
}

const char *tsr_vm_get_name (TsrVm *self) { g_return_val_if_fail (TSR_IS_VM (self), NULL); return self->name; }
const char *tsr_vm_get_uuid (TsrVm *self) { g_return_val_if_fail (TSR_IS_VM (self), NULL); return self->uuid; }
TsrVmState tsr_vm_get_state (TsrVm *self) { g_return_val_if_fail (TSR_IS_VM (self), 0); return self->state; }
const char *tsr_vm_get_label (TsrVm *self) { g_return_val_if_fail (TSR_IS_VM (self), NULL); return self->label; }
const char *tsr_vm_get_vm_class (TsrVm *self) { g_return_val_if_fail (TSR_IS_VM (self), NULL); return self->klass; }
const char *tsr_vm_get_template (TsrVm *self) { g_return_val_if_fail (TSR_IS_VM (self), NULL); return self->template_name; }
const char *tsr_vm_get_virt_mode (TsrVm *self) { g_return_val_if_fail (TSR_IS_VM (self), NULL); return self->virt_mode; }
const char *tsr_vm_get_kernel (TsrVm *self) { g_return_val_if_fail (TSR_IS_VM (self), NULL); return self->kernel; }
guint64 tsr_vm_get_memory (TsrVm *self) { g_return_val_if_fail (TSR_IS_VM (self), 0); return self->memory; }
guint64 tsr_vm_get_maxmem (TsrVm *self) { g_return_val_if_fail (TSR_IS_VM (self), 0); return self->maxmem; }
guint tsr_vm_get_vcpus (TsrVm *self) { g_return_val_if_fail (TSR_IS_VM (self), 0); return self->vcpus; }
guint tsr_vm_get_revision (TsrVm *self) { g_return_val_if_fail (TSR_IS_VM (self), 0); return self->revision; }
const char *tsr_vm_get_netvm (TsrVm *self) { g_return_val_if_fail (TSR_IS_VM (self), NULL); return self->netvm; }
const char *tsr_vm_get_mac (TsrVm *self) { g_return_val_if_fail (TSR_IS_VM (self), NULL); return self->mac; }
const char *tsr_vm_get_ip (TsrVm *self) { g_return_val_if_fail (TSR_IS_VM (self), NULL); return self->ip; }
const char *tsr_vm_get_netmask (TsrVm *self) { g_return_val_if_fail (TSR_IS_VM (self), NULL); return self->netmask; }
const char *tsr_vm_get_gateway (TsrVm *self) { g_return_val_if_fail (TSR_IS_VM (self), NULL); return self->gateway; }

gboolean
tsr_vm_is_active (TsrVm *self)
{
  g_return_val_if_fail (TSR_IS_VM (self), FALSE);

  return self->state != TSR_VM_STATE_SHUTOFF && self->state != TSR_VM_STATE_UNKNOWN &&
         self->state != TSR_VM_STATE_CRASHED;
}

const char *
tsr_vm_state_to_string (TsrVmState state)
{
  switch (state)
    {
    case TSR_VM_STATE_RUNNING: return _("Running");
    case TSR_VM_STATE_PAUSED: return _("Paused");
    case TSR_VM_STATE_SHUTTING_DOWN: return _("Shutting down");
    case TSR_VM_STATE_SHUTOFF: return _("Shut off");
    case TSR_VM_STATE_CRASHED: return _("Crashed");
    case TSR_VM_STATE_SUSPENDED: return _("Suspended");
    case TSR_VM_STATE_UNKNOWN:
    default: return _("Unknown");
    }
}

const char *
tsr_vm_get_state_text (TsrVm *self)
{
  g_return_val_if_fail (TSR_IS_VM (self), NULL);
  return tsr_vm_state_to_string (self->state);
}

/**
 * tsr_vm_get_base_template:
 * @self: a #TsrVm
 *
 * Returns: (nullable): the template an AppVM or DisposableVM runs from;
 *   %NULL for other VMs (a StandaloneVM's template is only where its copy
 *   came from)
 */
const char *
tsr_vm_get_base_template (TsrVm *self)
{
  g_return_val_if_fail (TSR_IS_VM (self), NULL);

  if (g_strcmp0 (self->klass, "AppVM") != 0 && g_strcmp0 (self->klass, "DispVM") != 0)
    return NULL;
  return self->template_name;
}

/**
 * tsr_vm_is_outdated:
 * @self: a #TsrVm
 * @template_vm: (nullable): the VM named by @self's template
 *
 * Returns: whether @self runs on an older revision of its template's root
 *   than the template's newest committed one: it picks that up at its
 *   next start
 */
gboolean
tsr_vm_is_outdated (TsrVm *self,
                    TsrVm *template_vm)
{
  g_return_val_if_fail (TSR_IS_VM (self), FALSE);
  g_return_val_if_fail (template_vm == NULL || TSR_IS_VM (template_vm), FALSE);

  return template_vm != NULL && tsr_vm_is_active (self) &&
         tsr_vm_get_base_template (self) != NULL &&
         g_strcmp0 (self->template_name, template_vm->name) == 0 &&
         self->revision < template_vm->revision;
}

/* Text of one column, as the list and `qvm-ls --fields` show it. */
char *
tsr_vm_dup_field_text (TsrVm      *self,
                       const char *field)
{
  g_return_val_if_fail (TSR_IS_VM (self), NULL);
  g_return_val_if_fail (field != NULL, NULL);

  if (strcmp (field, "name") == 0) return g_strdup (self->name);
  if (strcmp (field, "uuid") == 0) return g_strdup (self->uuid);
  if (strcmp (field, "state") == 0) return g_strdup (tsr_vm_get_state_text (self));
  if (strcmp (field, "label") == 0) return g_strdup (self->label);
  if (strcmp (field, "class") == 0) return g_strdup (self->klass);
  if (strcmp (field, "template") == 0) return g_strdup (self->template_name ? self->template_name : "-");
  if (strcmp (field, "virt-mode") == 0 || strcmp (field, "virt_mode") == 0)
    return g_ascii_strup (self->virt_mode ? self->virt_mode : "", -1);
  if (strcmp (field, "kernel") == 0) return g_strdup (self->kernel && *self->kernel ? self->kernel : _("(none)"));
  if (strcmp (field, "memory") == 0) return g_strdup_printf ("%" G_GUINT64_FORMAT, self->memory);
  if (strcmp (field, "maxmem") == 0) return g_strdup_printf ("%" G_GUINT64_FORMAT, self->maxmem);
  if (strcmp (field, "vcpus") == 0) return g_strdup_printf ("%u", self->vcpus);
  if (strcmp (field, "network") == 0 || strcmp (field, "netvm") == 0) return g_strdup (self->netvm);
  if (strcmp (field, "mac") == 0) return g_strdup (self->mac ? self->mac : "-");
  if (strcmp (field, "ip") == 0) return g_strdup (self->ip ? self->ip : "-");
  if (strcmp (field, "netmask") == 0) return g_strdup (self->netmask ? self->netmask : "-");
  if (strcmp (field, "gateway") == 0) return g_strdup (self->gateway ? self->gateway : "-");

  return NULL;
}

/* Parsing */

void
tsr_vm_config_free (TsrVmConfig *config)
{
  if (config == NULL)
    return;

  g_free (config->name);
  g_free (config->uuid);
  g_free (config->label);
  g_free (config->klass);
  g_free (config->template_name);
  g_free (config->virt_mode);
  g_free (config->kernel);
  g_free (config->netvm);
  g_free (config->mac);
  g_free (config->domain_type);
  g_free (config);
}

static void
replace_str (char       **field,
             const char  *value)
{
  char *copy = g_strdup (value);

  g_free (*field);
  *field = copy;
}

static guint64
parse_mib (xmlNodePtr node)
{
  g_autofree char *text = NULL;
  g_autofree char *unit = NULL;
  guint64 value;

  if (node == NULL)
    return 0;

  text = tsr_xml_text (node);
  unit = tsr_xml_prop (node, "unit");
  value = g_ascii_strtoull (text, NULL, 10);

  if (unit == NULL || g_ascii_strcasecmp (unit, "KiB") == 0 || strcmp (unit, "k") == 0)
    return value / 1024;
  if (g_ascii_strcasecmp (unit, "MiB") == 0 || strcmp (unit, "M") == 0)
    return value;
  if (g_ascii_strcasecmp (unit, "GiB") == 0 || strcmp (unit, "G") == 0)
    return value * 1024;
  if (strcmp (unit, "b") == 0 || strcmp (unit, "bytes") == 0)
    return value / (1024 * 1024);
  if (strcmp (unit, "KB") == 0)
    return value * 1000 / (1024 * 1024);
  if (strcmp (unit, "MB") == 0)
    return value * 1000 * 1000 / (1024 * 1024);
  if (strcmp (unit, "GB") == 0)
    return value * 1000 * 1000 * 1000 / (1024 * 1024);
  return value / 1024;
}

static char *
kernel_name_from_path (const char *path,
                       const char *kernels_dir)
{
  g_autofree char *dir = NULL;

  if (path == NULL || *path == '\0')
    return g_strdup ("");

  dir = g_path_get_dirname (path);
  if (kernels_dir != NULL)
    {
      g_autofree char *parent = g_path_get_dirname (dir);

      if (strcmp (parent, kernels_dir) == 0)
        return g_path_get_basename (dir);
    }

  return g_strdup (path);
}

static void
parse_metadata (TsrVmConfig *config,
                xmlNodePtr   metadata)
{
  for (xmlNodePtr n = metadata ? metadata->children : NULL; n; n = n->next)
    {
      if (n->type != XML_ELEMENT_NODE || n->ns == NULL ||
          strcmp ((const char *) n->ns->href, TSR_METADATA_NS) != 0)
        continue;

      for (xmlNodePtr p = n->children; p; p = p->next)
        {
          g_autofree char *value = NULL;

          if (p->type != XML_ELEMENT_NODE)
            continue;
          value = tsr_xml_text (p);

          if (tsr_xml_is (p, "label") && g_strv_contains (tsr_vm_labels, value))
            replace_str (&config->label, value);
          else if (tsr_xml_is (p, "class") && value && *value)
            replace_str (&config->klass, value);
          else if (tsr_xml_is (p, "template") && value && *value)
            replace_str (&config->template_name, value);
          else if (tsr_xml_is (p, "booted-revision") && value && *value)
            config->revision = (guint) g_ascii_strtoull (value, NULL, 10);
          else if (tsr_xml_is (p, "revision"))
            {
              g_autofree char *committed = tsr_xml_prop (p, "committed");
              g_autofree char *n = tsr_xml_prop (p, "n");

              if (g_strcmp0 (committed, "yes") == 0 && n != NULL)
                config->revision = MAX (config->revision, (guint) g_ascii_strtoull (n, NULL, 10));
            }
        }
    }
}

TsrVmConfig *
tsr_vm_config_parse (const char  *xml,
                     const char  *kernels_dir,
                     GError     **error)
{
  g_autoptr(TsrVmConfig) config = g_new0 (TsrVmConfig, 1);
  g_autofree char *os_type = NULL;
  g_autofree char *kernel_path = NULL;
  xmlDocPtr doc;
  xmlNodePtr root;
  guint64 max_kib_mib = 0, current_mib = 0;

  g_return_val_if_fail (xml != NULL, NULL);

  doc = xmlReadMemory (xml, strlen (xml), "domain.xml", NULL,
                       XML_PARSE_NONET | XML_PARSE_NOERROR | XML_PARSE_NOWARNING);
  if (doc == NULL || (root = xmlDocGetRootElement (doc)) == NULL || !tsr_xml_is (root, "domain"))
    {
      g_set_error_literal (error, TSR_ERROR, TSR_ERROR_INVALID_VALUE,
                           _("The domain definition is not valid XML."));
      g_clear_pointer (&doc, xmlFreeDoc);
      return NULL;
    }

  config->label = g_strdup ("gray");
  config->klass = g_strdup ("StandaloneVM");
  config->netvm = g_strdup ("none");
  config->domain_type = tsr_xml_prop (root, "type");
  config->vcpus = 1;

  for (xmlNodePtr n = root->children; n; n = n->next)
    {
      if (n->type != XML_ELEMENT_NODE)
        continue;

      /* libvirt writes each once; XML from elsewhere may repeat them. */
      if (tsr_xml_is (n, "name"))
        {
          g_free (config->name);
          config->name = tsr_xml_text (n);
        }
      else if (tsr_xml_is (n, "uuid"))
        {
          g_free (config->uuid);
          config->uuid = tsr_xml_text (n);
        }
      else if (tsr_xml_is (n, "memory"))
        max_kib_mib = parse_mib (n);
      else if (tsr_xml_is (n, "currentMemory"))
        current_mib = parse_mib (n);
      else if (tsr_xml_is (n, "vcpu"))
        {
          g_autofree char *text = tsr_xml_text (n);
          g_autofree char *current = tsr_xml_prop (n, "current");

          config->vcpus = (guint) g_ascii_strtoull (current ? current : text, NULL, 10);
        }
      else if (tsr_xml_is (n, "os"))
        {
          g_free (os_type);
          os_type = tsr_xml_text (tsr_xml_child (n, "type"));
          if (tsr_xml_child (n, "kernel") != NULL)
            {
              g_free (kernel_path);
              kernel_path = tsr_xml_text (tsr_xml_child (n, "kernel"));
            }
        }
      else if (tsr_xml_is (n, "metadata"))
        parse_metadata (config, n);
      else if (tsr_xml_is (n, "devices"))
        {
          for (xmlNodePtr d = n->children; d; d = d->next)
            {
              g_autofree char *type = NULL;
              xmlNodePtr source, mac;

              if (!tsr_xml_is (d, "interface") || config->mac != NULL)
                continue;

              type = tsr_xml_prop (d, "type");
              source = tsr_xml_child (d, "source");
              mac = tsr_xml_child (d, "mac");
              if (mac != NULL)
                {
                  g_autofree char *address = tsr_xml_prop (mac, "address");

                  config->mac = address ? g_ascii_strdown (address, -1) : NULL;
                }

              g_clear_pointer (&config->netvm, g_free);
              if (g_strcmp0 (type, "network") == 0 && source != NULL)
                config->netvm = tsr_xml_prop (source, "network");
              else if (g_strcmp0 (type, "bridge") == 0 && source != NULL)
                config->netvm = tsr_xml_prop (source, "bridge");
              if (config->netvm == NULL)
                config->netvm = g_strdup (type ? type : "none");
            }
        }
    }

  xmlFreeDoc (doc);

  if (config->name == NULL || config->uuid == NULL)
    {
      g_set_error_literal (error, TSR_ERROR, TSR_ERROR_INVALID_VALUE,
                           _("The domain definition has no name or UUID."));
      return NULL;
    }

  /* Qubes' memory is the initial allocation and maxmem the balloon ceiling;
   * libvirt calls them currentMemory and memory.
   */
  if (current_mib == 0)
    current_mib = max_kib_mib;
  config->memory = current_mib;
  config->maxmem = max_kib_mib > current_mib ? max_kib_mib : 0;

  config->kernel = kernel_name_from_path (kernel_path, kernels_dir);
  if (g_strcmp0 (os_type, "xen") == 0 || g_strcmp0 (os_type, "linux") == 0)
    config->virt_mode = g_strdup ("pv");
  else if (g_strcmp0 (os_type, "xenpvh") == 0)
    config->virt_mode = g_strdup ("pvh");
  else if (kernel_path != NULL && *kernel_path != '\0')
    config->virt_mode = g_strdup ("pvh");
  else
    config->virt_mode = g_strdup ("hvm");

  return g_steal_pointer (&config);
}
