/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include "tsr-choice-row.h"
#include "tsr-label-chooser.h"
#include "tsr-settings.h"
#include "tsr-settings-window.h"

G_BEGIN_DECLS

#define CANCELLABLE(self) tsr_dialog_get_cancellable (TSR_DIALOG (self))

/* Shared by the files of TsrSettingsWindow: tsr-settings-window.c (loading,
 * Apply, copying, booting), tsr-settings-window-fields.c (the widgets of
 * the properties and their rules) and tsr-settings-window-devices.c.
 */

/* The properties the window edits, in the core's names. */
typedef enum
{
  FIELD_NAME,
  FIELD_LABEL,
  FIELD_NETVM,
  FIELD_BACKUPS,
  FIELD_AUTOSTART,
  FIELD_MEMORY,
  FIELD_MAXMEM,
  FIELD_VCPUS,
  FIELD_VIRT_MODE,
  FIELD_KERNEL,
  FIELD_KERNELOPTS,
  FIELD_FIRMWARE,
  FIELD_MAC,
  FIELD_DEBUG,
  FIELD_TEMPLATE,
  N_FIELDS
} Field;

extern const char * const _tsr_settings_window_field_prefs[N_FIELDS];

enum {
  MAC_AUTOMATIC,
  MAC_FIXED,
};

struct _TsrSettingsWindow
{
  AdwWindow             parent_instance;

  /* Template children */
  AdwToastOverlay      *toast_overlay;
  GtkButton            *cancel_button;
  GtkButton            *apply_button;
  AdwWindowTitle       *window_title;
  GtkRevealer          *note_revealer;
  GtkImage             *note_icon;
  GtkLabel             *note_label;
  GtkStack             *stack;
  GtkSpinner           *loading_spinner;
  AdwStatusPage        *error_page;
  AdwViewStack         *view_stack;
  AdwPreferencesPage   *basic_page;
  AdwPreferencesPage   *advanced_page;
  AdwPreferencesPage   *devices_page;
  AdwEntryRow          *name_row;
  TsrLabelChooser      *label_chooser;
  GtkLabel             *name_error;
  TsrChoiceRow         *netvm_row;
  GtkLabel             *ip_label;
  GtkLabel             *netmask_label;
  GtkLabel             *gateway_label;
  GtkLabel             *dns_label;
  GtkWidget            *ip_copy;
  GtkWidget            *netmask_copy;
  GtkWidget            *gateway_copy;
  GtkWidget            *dns_copy;
  GtkLabel             *network_note;
  AdwPreferencesGroup  *template_group;
  TsrChoiceRow         *template_row;
  AdwActionRow         *private_row;
  GtkSpinButton        *private_spin;
  GtkWidget            *private_unit;
  GtkLabel             *template_note;
  GtkSwitch            *backups_switch;
  GtkSwitch            *autostart_switch;
  AdwActionRow         *memory_row;
  GtkSpinButton        *memory_spin;
  AdwActionRow         *maxmem_row;
  GtkSpinButton        *maxmem_spin;
  GtkSpinButton        *vcpus_spin;
  GtkLabel             *memory_error;
  TsrChoiceRow         *virt_mode_row;     /* NULL stands for the default */
  TsrChoiceRow         *kernel_row;
  AdwEntryRow          *kernelopts_row;
  TsrChoiceRow         *firmware_row;
  GtkWidget            *boot_device_row;
  GtkLabel             *boot_error;
  AdwComboRow          *mac_mode_row;
  AdwEntryRow          *mac_row;
  GtkLabel             *mac_error;
  GtkSwitch            *debug_switch;
  AdwPreferencesGroup  *assigned_group;
  AdwPreferencesGroup  *available_group;
  GtkSpinner           *pci_spinner;

  /* State */
  TsrConnection        *connection;
  TsrVm                *vm;
  GPtrArray            *prefs;           /* TsrPref, as last read */
  GPtrArray            *incoming;        /* read, waiting for the rest of a load */
  GStrv                 virt_modes;      /* the host's choices */
  GStrv                 kernels;
  GStrv                 networks;
  GPtrArray            *pci_rows;        /* rows of the Devices page */
  GPtrArray            *pci_devices;     /* TsrPciDevice */
  char                 *note;
  guint                 pending_loads;
  GError               *load_error;
  gboolean              loaded;
  gboolean              filling;         /* widgets are being set, not edited */
  gboolean              busy;
  gboolean              valid;
  gboolean              force_mac;       /* the MAC is another VM's on purpose */
  guint64               private_size;    /* bytes, as read; 0: unknown or none */
  char                 *private_error;   /* why the private disk's size is unknown */
  char                 *template_names;  /* the template row's choices, joined */
  guint                 reread_source;   /* the VM changed elsewhere: read again */
  char                 *conflicts[N_FIELDS]; /* touched here and changed elsewhere: the
                                                value there, NULL where no conflict */
};

/* tsr-settings-window.c */
void        _tsr_settings_window_read_prefs     (TsrSettingsWindow *self);
void        _tsr_settings_window_show_note      (TsrSettingsWindow *self,
                                                 const char        *next_start,
                                                 const char        *warning);
const char *_tsr_settings_window_pref_title     (const char        *name);

/* tsr-settings-window-fields.c: the widgets of the properties and their rules */
void        _tsr_settings_window_class_fields_init (GtkWidgetClass *widget_class);
const char *_tsr_settings_window_pref_value     (TsrSettingsWindow *self,
                                                 const char        *name);
char       *_tsr_settings_window_widget_value   (TsrSettingsWindow *self,
                                                 Field              field);
gboolean    _tsr_settings_window_field_changed  (TsrSettingsWindow *self,
                                                 Field              field);
void        _tsr_settings_window_take_prefs     (TsrSettingsWindow *self,
                                                 GPtrArray         *prefs);
void        _tsr_settings_window_show_message   (GtkLabel          *label,
                                                 GtkWidget         *row,
                                                 const char        *message,
                                                 gboolean           warning);
void        _tsr_settings_window_update         (TsrSettingsWindow *self);
gboolean    _tsr_settings_window_has_pci        (TsrSettingsWindow *self);

/* tsr-settings-window-template.c: an AppVM's template and private disk */
void        _tsr_settings_window_class_template_init (GtkWidgetClass *widget_class);
gboolean    _tsr_settings_window_is_template_based (TsrSettingsWindow *self);
void        _tsr_settings_window_fill_templates (TsrSettingsWindow *self);
void        _tsr_settings_window_template_init  (TsrSettingsWindow *self);
gboolean    _tsr_settings_window_private_changed (TsrSettingsWindow *self);
void        _tsr_settings_window_update_template (TsrSettingsWindow *self);
void        _tsr_settings_window_grow_private   (TsrSettingsWindow *self);

/* tsr-settings-window-devices.c: the Devices page */
void        _tsr_settings_window_class_devices_init (GtkWidgetClass *widget_class);
void        _tsr_settings_window_read_pci       (TsrSettingsWindow *self);

G_END_DECLS
