/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "config.h"

#include <glib/gi18n.h>

#include "tsr-console-window.h"
#include "tsr-creator.h"
#include "tsr-media-picker.h"
#include "tsr-new-vm-window.h"
#include "tsr-settings-window.h"
#include "tsr-window-private.h"

/* The window's dialogs: New VM, Settings, Start with Install Media, and
 * the VMs' consoles.
 */

/* A dialog of TYPE this window already has open (for VM, if given). */
static GtkWindow *
find_dialog (TsrWindow *self,
             GType      type,
             TsrVm     *vm)
{
  GListModel *toplevels = gtk_window_get_toplevels ();

  for (guint i = 0; i < g_list_model_get_n_items (toplevels); i++)
    {
      g_autoptr(GtkWindow) window = g_list_model_get_item (toplevels, i);

      if (!G_TYPE_CHECK_INSTANCE_TYPE (window, type) ||
          gtk_window_get_transient_for (window) != GTK_WINDOW (self))
        continue;
      if (vm != NULL && TSR_IS_SETTINGS_WINDOW (window) &&
          tsr_settings_window_get_vm (TSR_SETTINGS_WINDOW (window)) != vm)
        continue;
      return window;
    }

  return NULL;
}

/**
 * _tsr_window_open_settings:
 * @self: a #TsrWindow
 * @vm: the VM
 * @page: (nullable): the page to show: "basic", "advanced" or "devices"
 *
 * Opens the settings of @vm, or brings them forward if they are open.
 */
void
_tsr_window_open_settings (TsrWindow  *self,
                           TsrVm      *vm,
                           const char *page)
{
  GtkWindow *settings;

  g_assert (TSR_IS_WINDOW (self));
  g_assert (TSR_IS_VM (vm));

  if (self->connection == NULL)
    return;

  settings = find_dialog (self, TSR_TYPE_SETTINGS_WINDOW, vm);
  if (settings == NULL)
    settings = GTK_WINDOW (tsr_settings_window_new (GTK_WINDOW (self), self->connection, vm));
  if (page != NULL)
    tsr_settings_window_set_page (TSR_SETTINGS_WINDOW (settings), page);
  gtk_window_present (settings);
}

static void open_console (TsrWindow *self,
                          TsrVm     *vm);

/* New VM */

static void
tsr_window_vm_created_cb (TsrWindow      *self,
                          TsrVm          *vm,
                          TsrNewVmWindow *wizard)
{
  g_autofree char *message = NULL;
  const char *notice = tsr_new_vm_window_get_notice (wizard);
  AdwToast *toast;

  tsr_window_select_vm (self, vm);

  if (notice != NULL)
    message = g_markup_printf_escaped (_("Created “%s”. %s"), tsr_vm_get_name (vm), notice);
  else
    message = g_markup_printf_escaped (_("Created “%s”"), tsr_vm_get_name (vm));
  toast = adw_toast_new (message);
  if (notice != NULL)
    adw_toast_set_timeout (toast, 10);
  adw_toast_overlay_add_toast (self->toast_overlay, toast);

  /* Booted from its installer: show it, as "install system from device"
   * promises.
   */
  if (tsr_new_vm_window_get_started (wizard))
    open_console (self, vm);
  if (tsr_new_vm_window_get_open_settings (wizard))
    _tsr_window_open_settings (self, vm, NULL);
}

static GtkWindow *
open_wizard (TsrWindow *self)
{
  GtkWindow *wizard = find_dialog (self, TSR_TYPE_NEW_VM_WINDOW, NULL);

  if (wizard == NULL)
    {
      wizard = GTK_WINDOW (tsr_new_vm_window_new (GTK_WINDOW (self), self->connection));
      g_signal_connect_object (wizard, "vm-created",
                               G_CALLBACK (tsr_window_vm_created_cb),
                               self, G_CONNECT_SWAPPED);
    }
  gtk_window_present (wizard);
  return wizard;
}

static void
tsr_window_new_vm_cb (GtkWidget  *widget,
                      const char *action_name,
                      GVariant   *param)
{
  TsrWindow *self = TSR_WINDOW (widget);

  if (self->connection == NULL)
    return;

  open_wizard (self);
}

/* "New AppVM…" on a template's row: the wizard, that template chosen. */
static void
tsr_window_vm_new_appvm_cb (GtkWidget  *widget,
                            const char *action_name,
                            GVariant   *param)
{
  TsrWindow *self = TSR_WINDOW (widget);
  g_autoptr(TsrVm) template_vm = NULL;
  GtkWindow *wizard;

  if (self->connection == NULL || self->selected_vm == NULL)
    return;

  template_vm = g_object_ref (self->selected_vm);
  wizard = open_wizard (self);
  tsr_new_vm_window_preset_template (TSR_NEW_VM_WINDOW (wizard), template_vm);
}

/* Settings */

static void
tsr_window_vm_settings_cb (GtkWidget  *widget,
                           const char *action_name,
                           GVariant   *param)
{
  TsrWindow *self = TSR_WINDOW (widget);

  if (self->selected_vm != NULL)
    _tsr_window_open_settings (self, self->selected_vm, NULL);
}

/* Console */

static void
open_console (TsrWindow *self,
              TsrVm     *vm)
{
  if (vm == NULL || self->connection == NULL)
    return;
  tsr_console_window_present (gtk_window_get_application (GTK_WINDOW (self)), self->connection,
                              tsr_vm_get_name (vm));
}

static void
tsr_window_vm_console_cb (GtkWidget  *widget,
                          const char *action_name,
                          GVariant   *param)
{
  TsrWindow *self = TSR_WINDOW (widget);

  open_console (self, self->selected_vm);
}

/* A double click or Enter on a row opens the VM's console, as in
 * virt-manager.
 */
void
_tsr_window_row_activated_cb (TsrWindow     *self,
                              guint          position,
                              GtkColumnView *view)
{
  g_autoptr(TsrVm) vm = g_list_model_get_item (G_LIST_MODEL (self->selection), position);

  open_console (self, vm);
}

/* Start with install media */

#define PICKER_VM_KEY "tsr-vm"

typedef struct
{
  TsrWindow *self;
  TsrVm     *vm;
} StartData;

static void
start_data_free (StartData *data)
{
  g_object_unref (data->self);
  g_object_unref (data->vm);
  g_free (data);
}

G_DEFINE_AUTOPTR_CLEANUP_FUNC (StartData, start_data_free)

static void
tsr_window_started_with_media_cb (GObject      *object,
                                  GAsyncResult *result,
                                  gpointer      user_data)
{
  g_autoptr(StartData) data = user_data;
  TsrWindow *self = data->self;
  g_autoptr(GError) error = NULL;

  if (!tsr_connection_start_vm_with_media_finish (TSR_CONNECTION (object), result, &error))
    {
      if (!g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
        _tsr_window_add_error_toast (self, error);
      return;
    }
  /* The installer is what the person wants to see next. */
  open_console (self, data->vm);
}

static void
tsr_window_media_chosen_cb (TsrWindow      *self,
                            const char     *media,
                            TsrMediaPicker *picker)
{
  TsrVm *vm = g_object_get_data (G_OBJECT (picker), PICKER_VM_KEY);
  StartData *data;

  if (vm == NULL || self->connection == NULL)
    return;

  data = g_new0 (StartData, 1);
  data->self = g_object_ref (self);
  data->vm = g_object_ref (vm);
  tsr_connection_start_vm_with_media_async (self->connection, vm, media, self->cancellable,
                                            tsr_window_started_with_media_cb, data);
}

static void
tsr_window_vm_start_with_media_cb (GtkWidget  *widget,
                                   const char *action_name,
                                   GVariant   *param)
{
  TsrWindow *self = TSR_WINDOW (widget);
  TsrMediaPicker *picker;

  if (self->selected_vm == NULL || self->connection == NULL)
    return;

  picker = tsr_media_picker_new (GTK_WINDOW (self), self->connection,
                                 tsr_vm_get_name (self->selected_vm), _("_Start"));
  g_object_set_data_full (G_OBJECT (picker), PICKER_VM_KEY,
                          g_object_ref (self->selected_vm), g_object_unref);
  g_signal_connect_object (picker, "media-chosen",
                           G_CALLBACK (tsr_window_media_chosen_cb),
                           self, G_CONNECT_SWAPPED);
  gtk_window_present (GTK_WINDOW (picker));
}

/**
 * _tsr_window_dialogs_update:
 * @self: a #TsrWindow
 * @connected: whether the connection is up
 *
 * Enables the dialogs' actions that make sense now.
 */
void
_tsr_window_dialogs_update (TsrWindow *self,
                            gboolean   connected)
{
  GtkWidget *widget = GTK_WIDGET (self);
  TsrVm *vm = self->selected_vm;

  g_assert (TSR_IS_WINDOW (self));

  gtk_widget_action_set_enabled (widget, "win.new-vm", connected);
  gtk_widget_action_set_enabled (widget, "win.vm-new-appvm",
                                 connected && vm != NULL &&
                                 g_strcmp0 (tsr_vm_get_vm_class (vm), "TemplateVM") == 0);
  gtk_widget_action_set_enabled (widget, "win.vm-settings", connected && vm != NULL);
  gtk_widget_action_set_enabled (widget, "win.vm-console", connected && vm != NULL);
  gtk_widget_action_set_enabled (widget, "win.vm-start-with-media",
                                 connected && vm != NULL && !tsr_vm_is_active (vm));
}

void
_tsr_window_class_dialogs_init (TsrWindowClass *klass)
{
  GtkWidgetClass *widget_class = GTK_WIDGET_CLASS (klass);

  gtk_widget_class_install_action (widget_class, "win.new-vm", NULL,
                                   tsr_window_new_vm_cb);
  gtk_widget_class_install_action (widget_class, "win.vm-new-appvm", NULL,
                                   tsr_window_vm_new_appvm_cb);
  gtk_widget_class_install_action (widget_class, "win.vm-settings", NULL,
                                   tsr_window_vm_settings_cb);
  gtk_widget_class_install_action (widget_class, "win.vm-start-with-media", NULL,
                                   tsr_window_vm_start_with_media_cb);
  gtk_widget_class_install_action (widget_class, "win.vm-console", NULL,
                                   tsr_window_vm_console_cb);
}
