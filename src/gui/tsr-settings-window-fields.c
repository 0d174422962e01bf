/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "config.h"

#include <string.h>
#include <glib/gi18n.h>

#include "tsr-error.h"
#include "tsr-settings-window-private.h"
#include "tsr-validate.h"

/* The widgets of the properties: filled from what the core read, read back
 * in the core's form, and checked by the same rules as the core, as the
 * user types.
 */

const char * const _tsr_settings_window_field_prefs[N_FIELDS] = {
  "name", "label", "netvm", "include_in_backups", "autostart", "memory", "maxmem", "vcpus",
  "virt_mode", "kernel", "kernelopts", "firmware", "mac", "debug", "template",
};


/* Property values */

static const TsrPref *
find_pref (TsrSettingsWindow *self,
           const char        *name)
{
  for (guint i = 0; self->prefs != NULL && i < self->prefs->len; i++)
    {
      const TsrPref *pref = g_ptr_array_index (self->prefs, i);

      if (g_str_equal (pref->name, name))
        return pref;
    }
  return NULL;
}

const char *
_tsr_settings_window_pref_value (TsrSettingsWindow *self,
                                 const char        *name)
{
  const TsrPref *pref = find_pref (self, name);

  return pref != NULL && pref->value != NULL ? pref->value : "";
}

static const char *
bool_text (gboolean value)
{
  return value ? "True" : "False";
}

/* The virt mode the widgets stand for, the default resolved. */
static const char *
effective_virt_mode (TsrSettingsWindow *self)
{
  const char *mode = tsr_choice_row_get_value (self->virt_mode_row);
  const TsrPref *pref = find_pref (self, "virt_mode");

  if (mode != NULL)
    return mode;
  return pref != NULL && pref->default_value != NULL ? pref->default_value : "hvm";
}

static gboolean
mac_fixed (TsrSettingsWindow *self)
{
  return adw_combo_row_get_selected (self->mac_mode_row) == MAC_FIXED;
}

/* What a field's widget says, in the core's form; NULL for "the default". */
char *
_tsr_settings_window_widget_value (TsrSettingsWindow *self,
                                   Field              field)
{
  switch (field)
    {
    case FIELD_NAME:
      return g_strdup (gtk_editable_get_text (GTK_EDITABLE (self->name_row)));
    case FIELD_LABEL:
      return g_strdup (tsr_label_chooser_get_label (self->label_chooser));
    case FIELD_NETVM:
      return g_strdup (tsr_choice_row_get_value (self->netvm_row));
    case FIELD_BACKUPS:
      return g_strdup (bool_text (gtk_switch_get_active (self->backups_switch)));
    case FIELD_AUTOSTART:
      return g_strdup (bool_text (gtk_switch_get_active (self->autostart_switch)));
    case FIELD_DEBUG:
      return g_strdup (bool_text (gtk_switch_get_active (self->debug_switch)));
    case FIELD_MEMORY:
      return g_strdup_printf ("%d", gtk_spin_button_get_value_as_int (self->memory_spin));
    case FIELD_MAXMEM:
      return g_strdup_printf ("%d", gtk_spin_button_get_value_as_int (self->maxmem_spin));
    case FIELD_VCPUS:
      return g_strdup_printf ("%d", gtk_spin_button_get_value_as_int (self->vcpus_spin));
    case FIELD_VIRT_MODE:
      return g_strdup (tsr_choice_row_get_value (self->virt_mode_row));
    case FIELD_KERNEL:
      return g_strdup (tsr_choice_row_get_value (self->kernel_row));
    case FIELD_KERNELOPTS:
      return g_strdup (gtk_editable_get_text (GTK_EDITABLE (self->kernelopts_row)));
    case FIELD_FIRMWARE:
      return g_strdup (tsr_choice_row_get_value (self->firmware_row));
    case FIELD_MAC:
      if (!mac_fixed (self))
        return NULL;
      return g_ascii_strdown (gtk_editable_get_text (GTK_EDITABLE (self->mac_row)), -1);
    case FIELD_TEMPLATE:
      return g_strdup (tsr_choice_row_get_value (self->template_row));
    case N_FIELDS:
    default:
      g_assert_not_reached ();
    }
}

gboolean
_tsr_settings_window_field_changed (TsrSettingsWindow *self,
                                    Field              field)
{
  g_autofree char *value = _tsr_settings_window_widget_value (self, field);
  const TsrPref *pref = find_pref (self, _tsr_settings_window_field_prefs[field]);

  if (pref == NULL)
    return FALSE;

  switch (field)
    {
    case FIELD_TEMPLATE:
      /* Only an AppVM's or a DisposableVM's is shown and changed here. */
      return _tsr_settings_window_is_template_based (self) && value != NULL &&
             g_strcmp0 (value, pref->value) != 0;
    case FIELD_VIRT_MODE:
      /* "default (HVM)" and "HVM" are the same to the core. */
      return g_strcmp0 (value ? value : pref->default_value, pref->value) != 0;
    case FIELD_MAC:
      /* Automatic keeps the MAC; only fixing or unfixing it changes. */
      if (value == NULL)
        return !pref->is_default;
      return pref->is_default || g_strcmp0 (value, pref->value) != 0;
    default:
      return g_strcmp0 (value, pref->value) != 0;
    }
}

/* Filling the widgets */

static void
set_read_only_value (GtkLabel   *label,
                     GtkWidget  *copy,
                     const char *value)
{
  gboolean known = value != NULL && *value != '\0';

  gtk_label_set_text (label, known ? value : "—");
  if (known)
    gtk_widget_remove_css_class (GTK_WIDGET (label), "dim-label");
  else
    gtk_widget_add_css_class (GTK_WIDGET (label), "dim-label");
  gtk_widget_set_sensitive (copy, known);
}

static void
load_field (TsrSettingsWindow *self,
            Field              field)
{
  const TsrPref *pref = find_pref (self, _tsr_settings_window_field_prefs[field]);
  const char *value = pref != NULL && pref->value != NULL ? pref->value : "";

  switch (field)
    {
    case FIELD_NAME:
      gtk_editable_set_text (GTK_EDITABLE (self->name_row), value);
      break;
    case FIELD_LABEL:
      tsr_label_chooser_set_label (self->label_chooser, value);
      break;
    case FIELD_NETVM:
      if (!tsr_choice_row_select_value (self->netvm_row, value))
        tsr_choice_row_select_value (self->netvm_row, "none");
      break;
    case FIELD_BACKUPS:
      gtk_switch_set_active (self->backups_switch, g_str_equal (value, "True"));
      break;
    case FIELD_AUTOSTART:
      gtk_switch_set_active (self->autostart_switch, g_str_equal (value, "True"));
      break;
    case FIELD_DEBUG:
      gtk_switch_set_active (self->debug_switch, g_str_equal (value, "True"));
      break;
    case FIELD_MEMORY:
      gtk_spin_button_set_value (self->memory_spin, g_ascii_strtod (value, NULL));
      break;
    case FIELD_MAXMEM:
      gtk_spin_button_set_value (self->maxmem_spin, g_ascii_strtod (value, NULL));
      break;
    case FIELD_VCPUS:
      gtk_spin_button_set_value (self->vcpus_spin, g_ascii_strtod (value, NULL));
      break;
    case FIELD_VIRT_MODE:
      if (pref != NULL && pref->is_default)
        tsr_choice_row_select_value (self->virt_mode_row, NULL);
      else
        tsr_choice_row_select_value (self->virt_mode_row, value);
      break;
    case FIELD_KERNEL:
      tsr_choice_row_select_value (self->kernel_row, value);
      break;
    case FIELD_KERNELOPTS:
      gtk_editable_set_text (GTK_EDITABLE (self->kernelopts_row), value);
      break;
    case FIELD_FIRMWARE:
      if (!tsr_choice_row_select_value (self->firmware_row, value))
        tsr_choice_row_select_value (self->firmware_row, "bios");
      break;
    case FIELD_MAC:
      adw_combo_row_set_selected (self->mac_mode_row,
                                  pref != NULL && !pref->is_default ? MAC_FIXED : MAC_AUTOMATIC);
      gtk_editable_set_text (GTK_EDITABLE (self->mac_row), value);
      break;
    case FIELD_TEMPLATE:
      tsr_choice_row_select_value (self->template_row, value);
      break;
    case N_FIELDS:
    default:
      g_assert_not_reached ();
    }
}

static void
load_read_only (TsrSettingsWindow *self)
{
  const char *klass = _tsr_settings_window_pref_value (self, "class");
  const char *template_name = _tsr_settings_window_pref_value (self, "template");
  g_autofree char *title = NULL;
  g_autofree char *subtitle = NULL;

  set_read_only_value (self->ip_label, self->ip_copy, _tsr_settings_window_pref_value (self, "ip"));
  set_read_only_value (self->netmask_label, self->netmask_copy,
                       _tsr_settings_window_pref_value (self, "visible_netmask"));
  set_read_only_value (self->gateway_label, self->gateway_copy,
                       _tsr_settings_window_pref_value (self, "visible_gateway"));
  /* As in Qubes, the gateway answers DNS. */
  set_read_only_value (self->dns_label, self->dns_copy,
                       _tsr_settings_window_pref_value (self, "visible_gateway"));

  title = g_strdup_printf (_("%s — Settings"), _tsr_settings_window_pref_value (self, "name"));
  gtk_window_set_title (GTK_WINDOW (self), title);
  adw_window_title_set_title (self->window_title, _tsr_settings_window_pref_value (self, "name"));
  if (*template_name != '\0')
    /* Translators: a VM's class and its template, "AppVM based on debian-12" */
    subtitle = g_strdup_printf (_("%s based on %s"), klass, template_name);
  else
    subtitle = g_strdup (klass);
  adw_window_title_set_subtitle (self->window_title, subtitle);
}

static char *
mode_title (const char *mode)
{
  return g_ascii_strup (mode, -1);
}

/* The drop-downs whose choices come from the host, filled once. */
static void
fill_choices (TsrSettingsWindow *self)
{
  g_autoptr(GPtrArray) modes = g_ptr_array_new_with_free_func (g_object_unref);
  g_autoptr(GPtrArray) kernels = g_ptr_array_new_with_free_func (g_object_unref);
  g_autoptr(GPtrArray) networks = g_ptr_array_new_with_free_func (g_object_unref);
  const TsrPref *virt_mode = find_pref (self, "virt_mode");
  const char *kernel = _tsr_settings_window_pref_value (self, "kernel");
  const char *netvm = _tsr_settings_window_pref_value (self, "netvm");

  /* Virt mode: exactly the host's choices, after the default. */
  {
    g_autofree char *def = mode_title (virt_mode && virt_mode->default_value
                                       ? virt_mode->default_value : "hvm");
    g_autofree char *def_title = g_strdup_printf (_("default (%s)"), def);

    g_ptr_array_add (modes, tsr_choice_new (NULL, def_title, NULL));
  }
  for (guint i = 0; self->virt_modes[i] != NULL; i++)
    {
      g_autofree char *mode = mode_title (self->virt_modes[i]);

      g_ptr_array_add (modes, tsr_choice_new (self->virt_modes[i], mode, NULL));
    }
  /* A VM made elsewhere may use a mode this host does not offer. */
  if (virt_mode != NULL && *virt_mode->value != '\0' &&
      !g_strv_contains ((const char * const *) self->virt_modes, virt_mode->value))
    {
      g_autofree char *mode = mode_title (virt_mode->value);
      g_autofree char *title = g_strdup_printf (_("%s (not offered by this host)"), mode);

      g_ptr_array_add (modes, tsr_choice_new (virt_mode->value, title, NULL));
    }
  tsr_choice_row_set_choices (self->virt_mode_row, modes, NULL);

  /* Kernel: "(none)" boots what is on the disk or the install media. */
  g_ptr_array_add (kernels, tsr_choice_new ("", _("(none)"), NULL));
  for (guint i = 0; self->kernels[i] != NULL; i++)
    g_ptr_array_add (kernels, tsr_choice_new (self->kernels[i], self->kernels[i], NULL));
  if (*kernel != '\0' && !g_strv_contains ((const char * const *) self->kernels, kernel))
    {
      g_autofree char *title = g_strdup_printf (_("%s (not installed)"), kernel);

      g_ptr_array_add (kernels, tsr_choice_new (kernel, title, NULL));
    }
  tsr_choice_row_set_choices (self->kernel_row, kernels, "");

  /* Network: the connection's networks, and none. */
  for (guint i = 0; self->networks != NULL && self->networks[i] != NULL; i++)
    g_ptr_array_add (networks, tsr_choice_new (self->networks[i], self->networks[i], NULL));
  if (*netvm != '\0' && !g_str_equal (netvm, "none") &&
      (self->networks == NULL || !g_strv_contains ((const char * const *) self->networks, netvm)))
    {
      g_autofree char *title = g_strdup_printf (_("%s (missing)"), netvm);

      g_ptr_array_add (networks, tsr_choice_new (netvm, title, NULL));
    }
  g_ptr_array_add (networks, tsr_choice_new ("none", _("None (no network)"), NULL));
  tsr_choice_row_set_choices (self->netvm_row, networks, "none");

  _tsr_settings_window_fill_templates (self);
}

/* Takes newly read properties. Fields the user has not edited follow them;
 * edited ones keep what the user typed.
 */
void
_tsr_settings_window_take_prefs (TsrSettingsWindow *self,
                                 GPtrArray         *prefs)
{
  gboolean unchanged[N_FIELDS];
  gboolean first = self->prefs == NULL;

  for (guint i = 0; i < N_FIELDS; i++)
    unchanged[i] = first || !_tsr_settings_window_field_changed (self, i);

  /* A field edited here whose value changed elsewhere meanwhile keeps the
   * edit, and is flagged with the value it now has there.
   */
  for (guint i = 0; i < N_FIELDS; i++)
    {
      const char *name = _tsr_settings_window_field_prefs[i];
      const char *before = unchanged[i] ? NULL : _tsr_settings_window_pref_value (self, name);
      const char *now = NULL;

      for (guint j = 0; before != NULL && j < prefs->len; j++)
        if (g_str_equal (((TsrPref *) g_ptr_array_index (prefs, j))->name, name))
          now = ((TsrPref *) g_ptr_array_index (prefs, j))->value;
      if (unchanged[i])
        g_clear_pointer (&self->conflicts[i], g_free);
      else if (g_strcmp0 (before, now ? now : "") != 0)
        {
          g_free (self->conflicts[i]);
          self->conflicts[i] = g_strdup (now ? now : "");
        }
    }

  g_clear_pointer (&self->prefs, g_ptr_array_unref);
  self->prefs = g_ptr_array_ref (prefs);

  self->filling = TRUE;
  if (first)
    fill_choices (self);
  for (guint i = 0; i < N_FIELDS; i++)
    if (unchanged[i])
      load_field (self, i);
  load_read_only (self);
  self->filling = FALSE;
}

/* Checking */

void
_tsr_settings_window_show_message (GtkLabel   *label,
                                   GtkWidget  *row,
                                   const char *message,
                                   gboolean    warning)
{
  gtk_label_set_text (label, message ? message : "");
  gtk_widget_set_visible (GTK_WIDGET (label), message != NULL);
  gtk_widget_remove_css_class (GTK_WIDGET (label), warning ? "error" : "warning");
  gtk_widget_add_css_class (GTK_WIDGET (label), warning ? "warning" : "error");
  if (row == NULL)
    return;
  if (message != NULL && !warning)
    gtk_widget_add_css_class (row, "error");
  else
    gtk_widget_remove_css_class (row, "error");
}

static TsrVm *
vm_with_mac (TsrSettingsWindow *self,
             const char        *mac)
{
  GListModel *vms = tsr_connection_get_vms (self->connection);

  for (guint i = 0; i < g_list_model_get_n_items (vms); i++)
    {
      g_autoptr(TsrVm) vm = g_list_model_get_item (vms, i);

      if (vm != self->vm && tsr_vm_get_mac (vm) != NULL &&
          g_ascii_strcasecmp (tsr_vm_get_mac (vm), mac) == 0)
        return vm;
    }
  return NULL;
}

gboolean
_tsr_settings_window_has_pci (TsrSettingsWindow *self)
{
  for (guint i = 0; self->pci_devices != NULL && i < self->pci_devices->len; i++)
    {
      TsrPciDevice *device = g_ptr_array_index (self->pci_devices, i);

      if (g_strcmp0 (device->assigned_to, tsr_vm_get_name (self->vm)) == 0)
        return TRUE;
    }
  return FALSE;
}

static void
check_name (TsrSettingsWindow *self,
            gboolean          *valid)
{
  g_autoptr(GError) error = NULL;
  const char *name = gtk_editable_get_text (GTK_EDITABLE (self->name_row));
  g_autofree char *message = NULL;

  /* The VM's own name, as the list has it, is not taken by another. */
  if (!_tsr_settings_window_field_changed (self, FIELD_NAME))
    ;
  else if (!tsr_connection_check_new_vm_name (self->connection, name, &error) &&
           tsr_connection_lookup_vm (self->connection, name) != self->vm)
    message = g_strdup (error->message);
  else if (tsr_vm_is_active (self->vm))
    message = g_strdup_printf (_("“%s” is running: shut it down to rename it."),
                               tsr_vm_get_name (self->vm));

  _tsr_settings_window_show_message (self->name_error, GTK_WIDGET (self->name_row), message, FALSE);
  *valid = *valid && message == NULL;
}

static void
check_memory (TsrSettingsWindow *self,
              gboolean          *valid)
{
  int memory = gtk_spin_button_get_value_as_int (self->memory_spin);
  int maxmem = gtk_spin_button_get_value_as_int (self->maxmem_spin);
  const char *message = NULL;

  if (maxmem != 0 && maxmem < memory)
    message = _("Max memory is below the initial memory: make it 0 to turn memory balancing "
                "off, or at least the initial memory.");

  _tsr_settings_window_show_message (self->memory_error, GTK_WIDGET (self->maxmem_row),
                                     message, FALSE);
  *valid = *valid && message == NULL;
}

static void
check_boot (TsrSettingsWindow *self,
            gboolean          *valid)
{
  const char *mode = effective_virt_mode (self);
  const char *kernel = tsr_choice_row_get_value (self->kernel_row);
  const char *opts = gtk_editable_get_text (GTK_EDITABLE (self->kernelopts_row));
  g_autofree char *message = NULL;
  GtkWidget *row = NULL;

  /* Kernel options go to a kernel Tessera boots, so only with one. */
  gtk_widget_set_sensitive (GTK_WIDGET (self->kernelopts_row), kernel != NULL && *kernel != '\0');

  gtk_widget_remove_css_class (GTK_WIDGET (self->virt_mode_row), "error");
  gtk_widget_remove_css_class (GTK_WIDGET (self->kernel_row), "error");
  gtk_widget_remove_css_class (GTK_WIDGET (self->kernelopts_row), "error");

  if (!g_str_equal (mode, "hvm") && _tsr_settings_window_has_pci (self))
    {
      g_autofree char *upper = mode_title (mode);

      message = g_strdup_printf (_("PCI devices need HVM, and this VM has some: detach them on "
                                   "the Devices page to use %s."), upper);
      row = GTK_WIDGET (self->virt_mode_row);
    }
  else if (!g_str_equal (mode, "hvm") && (kernel == NULL || *kernel == '\0'))
    {
      g_autofree char *upper = mode_title (mode);

      message = g_strdup_printf (_("%s needs a kernel: choose one, or choose HVM to boot from "
                                   "the disk or install media."), upper);
      row = GTK_WIDGET (self->kernel_row);
    }
  else if (strlen (opts) > 512 || strchr (opts, '\n') != NULL)
    {
      message = g_strdup (_("Kernel options must be one line of at most 512 characters."));
      row = GTK_WIDGET (self->kernelopts_row);
    }

  _tsr_settings_window_show_message (self->boot_error, row, message, FALSE);
  *valid = *valid && message == NULL;
}

static void
check_mac (TsrSettingsWindow *self,
           gboolean          *valid)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *message = NULL;
  gboolean warning = FALSE;
  const char *text = gtk_editable_get_text (GTK_EDITABLE (self->mac_row));
  TsrVm *other;

  self->force_mac = FALSE;
  gtk_widget_set_visible (GTK_WIDGET (self->mac_row), mac_fixed (self));

  if (!mac_fixed (self))
    adw_action_row_set_subtitle (ADW_ACTION_ROW (self->mac_mode_row),
                                 _tsr_settings_window_pref_value (self, "mac"));
  else
    adw_action_row_set_subtitle (ADW_ACTION_ROW (self->mac_mode_row),
                                 _("Always the address below, even the same as another VM’s"));

  if (!mac_fixed (self) || !_tsr_settings_window_field_changed (self, FIELD_MAC))
    ;
  else if (!tsr_validate_mac (text, &error))
    message = g_strdup (error->message);
  else if ((other = vm_with_mac (self, text)) != NULL)
    {
      /* Qubes users share a MAC on purpose, e.g. for a licence bound to it. */
      message = g_strdup_printf (_("“%s” uses this MAC too. Apply gives both VMs the same MAC: "
                                   "only one of them can run at a time."),
                                 tsr_vm_get_name (other));
      warning = TRUE;
      self->force_mac = TRUE;
    }

  _tsr_settings_window_show_message (self->mac_error, GTK_WIDGET (self->mac_row), message, warning);
  *valid = *valid && (message == NULL || warning);
}

/* Booting from a device starts the saved definition, which must boot
 * through the firmware: HVM without a kernel, and halted.
 */
static void
update_boot_from_device (TsrSettingsWindow *self)
{
  const char *subtitle = _("Start once from an ISO image or a disc, with the saved settings");
  gboolean firmware_boot;

  firmware_boot = g_str_equal (_tsr_settings_window_pref_value (self, "virt_mode"), "hvm") &&
                  *_tsr_settings_window_pref_value (self, "kernel") == '\0';
  if (tsr_vm_is_active (self->vm))
    subtitle = _("The VM is running: shut it down first");
  else if (!firmware_boot)
    subtitle = _("Needs virt mode HVM and kernel (none), applied");

  adw_action_row_set_subtitle (ADW_ACTION_ROW (self->boot_device_row), subtitle);
  gtk_widget_action_set_enabled (GTK_WIDGET (self), "settings.boot-from-device",
                                 firmware_boot && !tsr_vm_is_active (self->vm) && !self->busy);
}

/* The widget showing FIELD's value, to flag it. */
static GtkWidget *
field_widget (TsrSettingsWindow *self,
              Field              field)
{
  switch (field)
    {
    case FIELD_NAME: return GTK_WIDGET (self->name_row);
    case FIELD_LABEL: return GTK_WIDGET (self->label_chooser);
    case FIELD_NETVM: return GTK_WIDGET (self->netvm_row);
    case FIELD_BACKUPS: return GTK_WIDGET (self->backups_switch);
    case FIELD_AUTOSTART: return GTK_WIDGET (self->autostart_switch);
    case FIELD_MEMORY: return GTK_WIDGET (self->memory_spin);
    case FIELD_MAXMEM: return GTK_WIDGET (self->maxmem_spin);
    case FIELD_VCPUS: return GTK_WIDGET (self->vcpus_spin);
    case FIELD_VIRT_MODE: return GTK_WIDGET (self->virt_mode_row);
    case FIELD_KERNEL: return GTK_WIDGET (self->kernel_row);
    case FIELD_KERNELOPTS: return GTK_WIDGET (self->kernelopts_row);
    case FIELD_FIRMWARE: return GTK_WIDGET (self->firmware_row);
    case FIELD_MAC: return GTK_WIDGET (self->mac_row);
    case FIELD_DEBUG: return GTK_WIDGET (self->debug_switch);
    case FIELD_TEMPLATE: return GTK_WIDGET (self->template_row);
    case N_FIELDS:
    default:
      g_assert_not_reached ();
    }
}

/* Fields edited here that were changed elsewhere too: said in the note,
 * with what Apply will do to them.
 */
static void
show_conflicts (TsrSettingsWindow *self)
{
  g_autoptr(GString) list = g_string_new (NULL);
  g_autofree char *warning = NULL;

  for (guint i = 0; i < N_FIELDS; i++)
    {
      gboolean conflict = self->conflicts[i] != NULL && _tsr_settings_window_field_changed (self, i);

      if (conflict)
        gtk_widget_add_css_class (field_widget (self, i), "warning");
      else
        gtk_widget_remove_css_class (field_widget (self, i), "warning");
      if (!conflict)
        continue;
      if (list->len > 0)
        g_string_append (list, ", ");
      g_string_append_printf (list, _("%s (now “%s”)"),
                              _tsr_settings_window_pref_title (_tsr_settings_window_field_prefs[i]),
                              *self->conflicts[i] ? self->conflicts[i] : "—");
    }
  if (list->len == 0)
    {
      if (self->note != NULL && g_str_has_prefix (self->note, _("Changed elsewhere")))
        _tsr_settings_window_show_note (self, NULL, NULL);
      return;
    }
  warning = g_strdup_printf (_("Changed elsewhere while you edited: %s. Apply replaces that "
                               "with the value here; Cancel leaves it as it is now."), list->str);
  if (g_strcmp0 (self->note, warning) != 0)
    _tsr_settings_window_show_note (self, NULL, warning);
}

static gboolean
has_changes (TsrSettingsWindow *self)
{
  for (guint i = 0; i < N_FIELDS; i++)
    if (_tsr_settings_window_field_changed (self, i))
      return TRUE;
  return _tsr_settings_window_private_changed (self);
}

void
_tsr_settings_window_update (TsrSettingsWindow *self)
{
  const char *network_note;
  gboolean valid = TRUE;
  gboolean changes;

  if (!self->loaded || self->filling)
    return;

  check_name (self, &valid);
  check_memory (self, &valid);
  check_boot (self, &valid);
  check_mac (self, &valid);
  self->valid = valid;
  _tsr_settings_window_update_template (self);

  network_note = _tsr_settings_window_field_changed (self, FIELD_NETVM)
                 ? _("The addresses above change when the new network is applied.")
                 : NULL;
  _tsr_settings_window_show_message (self->network_note, NULL, network_note, TRUE);

  changes = has_changes (self);
  show_conflicts (self);
  gtk_widget_action_set_enabled (GTK_WIDGET (self), "settings.apply",
                                 valid && changes && !self->busy);
  gtk_button_set_label (self->cancel_button, changes ? _("_Cancel") : _("_Close"));
  update_boot_from_device (self);
}

static void
tsr_settings_window_field_changed_cb (TsrSettingsWindow *self)
{
  _tsr_settings_window_update (self);
}

/* A choice that follows from another, not the user's: not a change of its own. */
static void
select_following (TsrSettingsWindow *self,
                  TsrChoiceRow      *row,
                  const char        *value)
{
  self->filling = TRUE;
  tsr_choice_row_select_value (row, value);
  self->filling = FALSE;
}

/* HVM boots the disk or the media, so it takes no kernel; a kernel on an
 * HVM VM makes it PVH. The core has the same rules; here they show at once.
 */
static void
tsr_settings_window_virt_mode_selected_cb (TsrSettingsWindow *self)
{
  if (!self->filling && self->loaded && g_str_equal (effective_virt_mode (self), "hvm"))
    select_following (self, self->kernel_row, "");
  _tsr_settings_window_update (self);
}

static void
tsr_settings_window_kernel_selected_cb (TsrSettingsWindow *self)
{
  const char *kernel = tsr_choice_row_get_value (self->kernel_row);

  if (!self->filling && self->loaded && kernel != NULL && *kernel != '\0' &&
      g_str_equal (effective_virt_mode (self), "hvm"))
    select_following (self, self->virt_mode_row, "pvh");
  _tsr_settings_window_update (self);
}

static void
tsr_settings_window_mac_mode_selected_cb (TsrSettingsWindow *self)
{
  if (!self->filling && mac_fixed (self) &&
      *gtk_editable_get_text (GTK_EDITABLE (self->mac_row)) == '\0')
    gtk_editable_set_text (GTK_EDITABLE (self->mac_row),
                           _tsr_settings_window_pref_value (self, "mac"));
  _tsr_settings_window_update (self);
}

void
_tsr_settings_window_class_fields_init (GtkWidgetClass *widget_class)
{
  gtk_widget_class_bind_template_callback (widget_class, tsr_settings_window_field_changed_cb);
  gtk_widget_class_bind_template_callback (widget_class, tsr_settings_window_virt_mode_selected_cb);
  gtk_widget_class_bind_template_callback (widget_class, tsr_settings_window_kernel_selected_cb);
  gtk_widget_class_bind_template_callback (widget_class, tsr_settings_window_mac_mode_selected_cb);
}
