/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include "tsr-gui-util.h"
#include "tsr-label-chooser.h"
#include "tsr-network-row.h"
#include "tsr-os-row.h"
#include "tsr-pool-row.h"
#include "tsr-new-vm-window.h"

G_BEGIN_DECLS

#define CANCELLABLE(self) tsr_dialog_get_cancellable (TSR_DIALOG (self))

/* Shared by the files of TsrNewVmWindow: tsr-new-vm-window.c (the form and
 * its rules) and tsr-new-vm-window-create.c (creating, with progress, and
 * starting with the install media).
 */

enum {
  TYPE_STANDALONE,
  TYPE_STANDALONE_FROM_TEMPLATE,
  TYPE_TEMPLATE,
  TYPE_APPVM,
  TYPE_DISPVM,
};

/* The types that need a template chosen. */
#define TYPE_NEEDS_TEMPLATE(type) \
  ((type) == TYPE_STANDALONE_FROM_TEMPLATE || (type) == TYPE_APPVM || (type) == TYPE_DISPVM)

struct _TsrNewVmWindow
{
  AdwWindow            parent_instance;

  /* Template children */
  AdwToastOverlay     *toast_overlay;
  GtkButton           *cancel_button;
  GtkButton           *create_button;
  AdwWindowTitle      *window_title;
  GtkStack            *stack;
  AdwPreferencesPage  *form_page;
  AdwEntryRow         *name_row;
  GtkLabel            *name_error;
  AdwActionRow        *label_row;
  TsrLabelChooser     *label_chooser;
  AdwComboRow         *type_row;
  AdwComboRow         *template_row;
  AdwActionRow        *install_row;
  GtkSwitch           *install_switch;
  AdwActionRow        *media_row;
  GtkButton           *media_button;
  GtkButton           *media_clear_button;
  TsrOsRow            *os_row;
  AdwActionRow        *drivers_row;
  GtkButton           *drivers_button;
  GtkButton           *drivers_clear_button;
  AdwActionRow        *memory_row;
  GtkSpinButton       *memory_spin;
  AdwActionRow        *maxmem_row;
  GtkSpinButton       *maxmem_spin;
  GtkSpinButton       *vcpus_spin;
  AdwActionRow        *disk_row;
  GtkSpinButton       *disk_spin;
  GtkLabel            *resources_error;
  TsrPoolRow          *pool_row;
  TsrNetworkRow       *network_row;
  GtkSwitch           *open_settings_switch;
  AdwStatusPage       *progress_page;
  GtkProgressBar      *progress_bar;
  GtkLabel            *stage_label;

  /* State */
  TsrConnection       *connection;
  GCancellable        *create_cancellable;  /* the Create in progress */
  GtkFilterListModel  *templates;
  char                *media;
  char                *drivers_media;  /* a virtio-win ISO, remembered */
  GSettings           *settings;
  char                *created_name;
  char                *notice;
  gulong               vms_changed_id;
  guint                appear_source;
  guint                pulse_source;
  gboolean             name_touched;
  gboolean             os_touched;     /* chosen from the list: media no longer decide */
  gboolean             busy;
  gboolean             started;        /* with the install media */
};

/* tsr-new-vm-window.c */
void        _tsr_new_vm_window_update            (TsrNewVmWindow *self);
TsrVm      *_tsr_new_vm_window_selected_template (TsrNewVmWindow *self);
void        _tsr_new_vm_window_emit_created      (TsrNewVmWindow *self,
                                                  TsrVm          *vm);

/* tsr-new-vm-window-create.c */
void        _tsr_new_vm_window_class_create_init (GtkWidgetClass *widget_class);

G_END_DECLS
