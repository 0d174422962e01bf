/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "config.h"

#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <linux/input-event-codes.h>
#include <glib/gi18n.h>

#include "tsr-console.h"
#include "tsr-console-window.h"
#include "tsr-creator.h"
#include "tsr-error.h"
#include "tsr-gui-util.h"
#include "tsr-media-picker.h"
#include "tsr-serial.h"

/* One VM's console: its screen (VNC through a socket libvirt hands over)
 * and its serial port, in one window that follows the VM: when the VM
 * stops the window says so and offers to start it; when it starts again,
 * from here or anywhere else, both views come back by themselves.
 */

/* After a view lost its VM while the VM still runs, try again after this. */
#define RETRY_MS 1000

typedef enum
{
  STATUS_WAITING,     /* for the connection or its first list */
  STATUS_MISSING,     /* no such VM */
  STATUS_STOPPED,
  STATUS_CONNECTING,
  STATUS_SCREEN,
  STATUS_FAILED,      /* the screen cannot be shown; says why */
} Status;

static const char *status_names[] = {
  [STATUS_WAITING] = "waiting",
  [STATUS_MISSING] = "missing",
  [STATUS_STOPPED] = "stopped",
  [STATUS_CONNECTING] = "connecting",
  [STATUS_SCREEN] = "screen",
  [STATUS_FAILED] = "failed",
};

struct _TsrConsoleWindow
{
  AdwApplicationWindow  parent_instance;

  /* Template children */
  AdwViewSwitcherTitle *switcher_title;
  GtkButton            *start_button;
  GtkMenuButton        *keys_button;
  GtkMenuButton        *menu_button;
  AdwToastOverlay      *toast_overlay;
  AdwViewStack         *view_stack;
  GtkStack             *display_stack;
  TsrVncView           *vnc_view;
  AdwStatusPage        *display_status;
  GtkSpinner           *status_spinner;
  GtkWidget            *status_start_button;
  GtkWidget            *status_media_button;
  TsrSerialView        *serial_view;
  GMenu                *fkeys_section;

  /* State */
  TsrConnection        *connection;
  char                 *vm_name;
  TsrVm                *vm;
  GCancellable         *cancellable;
  Status                status;
  char                 *failure;        /* why the screen cannot be shown */
  gboolean              opening;
  guint                 retry_source;
  TsrSerial            *serial;
  gboolean              serial_opening;
  guint                 serial_retry_source;
  char                 *scale;
};

G_DEFINE_FINAL_TYPE (TsrConsoleWindow, tsr_console_window, ADW_TYPE_APPLICATION_WINDOW)

enum {
  PROP_0,
  PROP_CONNECTION,
  PROP_VM_NAME,
  PROP_STATUS,
  PROP_SCALE,
  N_PROPS
};

static GParamSpec *properties[N_PROPS];

static void update (TsrConsoleWindow *self);

/* Keys */

static const struct
{
  const char *name;
  guint       codes[3];
  guint       n_codes;
} key_combos[] = {
  { "ctrl-alt-del", { KEY_LEFTCTRL, KEY_LEFTALT, KEY_DELETE }, 3 },
  { "ctrl-alt-backspace", { KEY_LEFTCTRL, KEY_LEFTALT, KEY_BACKSPACE }, 3 },
  { "print", { KEY_SYSRQ }, 1 },
};

static const guint function_keys[] = {
  KEY_F1, KEY_F2, KEY_F3, KEY_F4, KEY_F5, KEY_F6,
  KEY_F7, KEY_F8, KEY_F9, KEY_F10, KEY_F11, KEY_F12,
};

/* The keys named NAME ("ctrl-alt-del", "ctrl-alt-f3"…) in CODES; how many. */
static guint
parse_keys (const char *name,
            guint       codes[3])
{
  guint n;

  for (guint i = 0; i < G_N_ELEMENTS (key_combos); i++)
    if (g_str_equal (name, key_combos[i].name))
      {
        memcpy (codes, key_combos[i].codes, sizeof key_combos[i].codes);
        return key_combos[i].n_codes;
      }

  if (sscanf (name, "ctrl-alt-f%u", &n) == 1 && n >= 1 && n <= G_N_ELEMENTS (function_keys))
    {
      codes[0] = KEY_LEFTCTRL;
      codes[1] = KEY_LEFTALT;
      codes[2] = function_keys[n - 1];
      return 3;
    }
  return 0;
}

static void
add_toast (TsrConsoleWindow *self,
           const char       *text,
           guint             timeout)
{
  g_autofree char *markup = g_markup_escape_text (text, -1);
  AdwToast *toast = adw_toast_new (markup);

  adw_toast_set_timeout (toast, timeout);
  adw_toast_overlay_add_toast (self->toast_overlay, toast);
}

static void
show_error (TsrConsoleWindow *self,
            const GError     *error)
{
  if (!g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
    add_toast (self, error->message, 10);
}

static void
keys_sent_cb (GObject      *object,
              GAsyncResult *result,
              gpointer      user_data)
{
  g_autoptr(TsrConsoleWindow) self = user_data;
  g_autoptr(GError) error = NULL;

  if (!tsr_console_send_keys_finish (TSR_CONNECTION (object), result, &error))
    show_error (self, error);
}

static void
send_keys_cb (GtkWidget  *widget,
              const char *action_name,
              GVariant   *param)
{
  TsrConsoleWindow *self = TSR_CONSOLE_WINDOW (widget);
  guint codes[3];
  guint n = parse_keys (g_variant_get_string (param, NULL), codes);

  if (n == 0 || self->vm == NULL)
    return;
  /* Through libvirt, not the VNC socket: the same keys reach the guest
   * whether or not the screen is connected.
   */
  tsr_console_send_keys_async (self->connection, self->vm, codes, n, self->cancellable,
                               keys_sent_cb, g_object_ref (self));
}

static void
clipboard_read_cb (GObject      *object,
                   GAsyncResult *result,
                   gpointer      user_data)
{
  g_autoptr(TsrConsoleWindow) self = user_data;
  g_autoptr(GError) error = NULL;
  g_autofree char *text = gdk_clipboard_read_text_finish (GDK_CLIPBOARD (object), result, &error);

  if (text == NULL || *text == '\0')
    {
      add_toast (self, _("The clipboard holds no text to type."), 4);
      return;
    }
  if (tsr_vnc_view_get_connected (self->vnc_view))
    tsr_vnc_view_type_text (self->vnc_view, text);
}

static void
type_clipboard_cb (GtkWidget  *widget,
                   const char *action_name,
                   GVariant   *param)
{
  TsrConsoleWindow *self = TSR_CONSOLE_WINDOW (widget);

  /* Read only when asked: the guest never sees the host's clipboard by
   * itself.
   */
  gdk_clipboard_read_text_async (gtk_widget_get_clipboard (widget), self->cancellable,
                                 clipboard_read_cb, g_object_ref (self));
}

/* Screenshot */

static void
save_png_in_thread (GTask        *task,
                    gpointer      source_object,
                    gpointer      task_data,
                    GCancellable *cancellable)
{
  GdkTexture *frame = g_object_get_data (G_OBJECT (task), "frame");
  g_autofree char *path = g_file_get_path (task_data);

  if (path == NULL || !gdk_texture_save_to_png (frame, path))
    g_task_return_new_error (task, TSR_ERROR, TSR_ERROR_FAILED,
                             _("Could not save the screenshot as “%s”: check that the folder "
                               "exists and that you may write to it."),
                             path ? path : g_file_peek_path (task_data));
  else
    g_task_return_boolean (task, TRUE);
}

/**
 * tsr_console_window_save_screenshot_async:
 * @self: a #TsrConsoleWindow
 * @file: where to write the PNG
 * @cancellable: (nullable): stops waiting
 * @callback: called once written
 * @user_data: for @callback
 *
 * Saves the guest's screen as it is now, at its own size, as PNG. The
 * file is written in a worker.
 */
void
tsr_console_window_save_screenshot_async (TsrConsoleWindow    *self,
                                          GFile               *file,
                                          GCancellable        *cancellable,
                                          GAsyncReadyCallback  callback,
                                          gpointer             user_data)
{
  g_autoptr(GTask) task = g_task_new (self, cancellable, callback, user_data);
  GdkTexture *frame = tsr_vnc_view_get_frame (self->vnc_view);

  g_task_set_source_tag (task, tsr_console_window_save_screenshot_async);
  if (frame == NULL)
    {
      g_task_return_new_error (task, TSR_ERROR, TSR_ERROR_VM_NOT_RUNNING,
                               _("There is no screen to save yet: start the VM first."));
      return;
    }
  g_object_set_data_full (G_OBJECT (task), "frame", frame, g_object_unref);
  g_task_set_task_data (task, g_object_ref (file), g_object_unref);
  g_task_run_in_thread (task, save_png_in_thread);
}

gboolean
tsr_console_window_save_screenshot_finish (TsrConsoleWindow  *self,
                                           GAsyncResult      *result,
                                           GError           **error)
{
  return g_task_propagate_boolean (G_TASK (result), error);
}

static void
screenshot_saved_cb (GObject      *object,
                     GAsyncResult *result,
                     gpointer      user_data)
{
  TsrConsoleWindow *self = TSR_CONSOLE_WINDOW (object);
  g_autoptr(GFile) file = user_data;
  g_autoptr(GError) error = NULL;
  g_autofree char *message = NULL;

  if (!tsr_console_window_save_screenshot_finish (self, result, &error))
    {
      show_error (self, error);
      return;
    }
  message = g_strdup_printf (_("Saved the screenshot as “%s”"), g_file_peek_path (file));
  add_toast (self, message, 4);
}

static void
screenshot_response_cb (GtkNativeDialog  *dialog,
                        int               response,
                        TsrConsoleWindow *self)
{
  g_autoptr(GFile) file = NULL;

  if (response == GTK_RESPONSE_ACCEPT)
    file = gtk_file_chooser_get_file (GTK_FILE_CHOOSER (dialog));
  if (file != NULL)
    tsr_console_window_save_screenshot_async (self, file, self->cancellable,
                                              screenshot_saved_cb, g_object_ref (file));
  g_object_unref (dialog);
}

static void
screenshot_cb (GtkWidget  *widget,
               const char *action_name,
               GVariant   *param)
{
  TsrConsoleWindow *self = TSR_CONSOLE_WINDOW (widget);
  g_autoptr(GDateTime) now = g_date_time_new_now_local ();
  g_autofree char *stamp = g_date_time_format (now, "%Y-%m-%d-%H%M%S");
  g_autofree char *name = g_strdup_printf ("%s-%s.png", self->vm_name, stamp);
  GtkFileChooserNative *dialog;

  dialog = gtk_file_chooser_native_new (_("Save Screenshot"), GTK_WINDOW (self),
                                        GTK_FILE_CHOOSER_ACTION_SAVE, _("_Save"), _("_Cancel"));
  gtk_file_chooser_set_current_name (GTK_FILE_CHOOSER (dialog), name);
  g_signal_connect (dialog, "response", G_CALLBACK (screenshot_response_cb), self);
  gtk_native_dialog_show (GTK_NATIVE_DIALOG (dialog));
}

/* Scale */

const char *
tsr_console_window_get_scale (TsrConsoleWindow *self)
{
  g_return_val_if_fail (TSR_IS_CONSOLE_WINDOW (self), NULL);
  return self->scale;
}

void
tsr_console_window_set_scale (TsrConsoleWindow *self,
                              const char       *scale)
{
  g_return_if_fail (TSR_IS_CONSOLE_WINDOW (self));
  g_return_if_fail (g_strcmp0 (scale, "fit") == 0 || g_strcmp0 (scale, "1:1") == 0);

  if (g_strcmp0 (self->scale, scale) == 0)
    return;
  g_free (self->scale);
  self->scale = g_strdup (scale);
  tsr_vnc_view_set_scale (self->vnc_view, g_str_equal (scale, "fit") ? TSR_VNC_SCALE_FIT
                                                                      : TSR_VNC_SCALE_ONE_TO_ONE);
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_SCALE]);
}

static void
resize_to_guest_cb (GtkWidget  *widget,
                    const char *action_name,
                    GVariant   *param)
{
  TsrConsoleWindow *self = TSR_CONSOLE_WINDOW (widget);
  int scale = gtk_widget_get_scale_factor (widget);
  int width = tsr_vnc_view_get_guest_width (self->vnc_view);
  int height = tsr_vnc_view_get_guest_height (self->vnc_view);
  int extra_width = gtk_widget_get_width (widget) - gtk_widget_get_width (GTK_WIDGET (self->view_stack));
  int extra_height = gtk_widget_get_height (widget) - gtk_widget_get_height (GTK_WIDGET (self->view_stack));

  if (width <= 0 || height <= 0)
    return;
  tsr_console_window_set_scale (self, "1:1");
  gtk_window_unmaximize (GTK_WINDOW (self));
  gtk_window_set_default_size (GTK_WINDOW (self), width / scale + extra_width,
                               height / scale + extra_height);
}

/* Lifecycle from the window */

static void
lifecycle_done_cb (GObject      *object,
                   GAsyncResult *result,
                   gpointer      user_data)
{
  g_autoptr(TsrConsoleWindow) self = user_data;
  g_autoptr(GError) error = NULL;

  if (!tsr_gui_lifecycle_finish (TSR_CONNECTION (object), result, &error))
    show_error (self, error);
}

static const struct
{
  const char      *action;
  TsrGuiLifecycle  step;
} lifecycle_actions[] = {
  { "console.start", TSR_GUI_LIFECYCLE_START },
  { "console.shutdown", TSR_GUI_LIFECYCLE_SHUTDOWN },
  { "console.force-off", TSR_GUI_LIFECYCLE_FORCE_OFF },
  { "console.pause", TSR_GUI_LIFECYCLE_PAUSE },
  { "console.resume", TSR_GUI_LIFECYCLE_RESUME },
};

static void
lifecycle_cb (GtkWidget  *widget,
              const char *action_name,
              GVariant   *param)
{
  TsrConsoleWindow *self = TSR_CONSOLE_WINDOW (widget);

  if (self->vm == NULL)
    return;
  for (guint i = 0; i < G_N_ELEMENTS (lifecycle_actions); i++)
    if (g_str_equal (action_name, lifecycle_actions[i].action))
      tsr_gui_lifecycle_async (self->connection, self->vm, lifecycle_actions[i].step,
                               self->cancellable, lifecycle_done_cb, g_object_ref (self));
}

static void
started_with_media_cb (GObject      *object,
                       GAsyncResult *result,
                       gpointer      user_data)
{
  g_autoptr(TsrConsoleWindow) self = user_data;
  g_autoptr(GError) error = NULL;

  if (!tsr_connection_start_vm_with_media_finish (TSR_CONNECTION (object), result, &error))
    show_error (self, error);
}

static void
media_chosen_cb (TsrConsoleWindow *self,
                 const char       *media)
{
  if (self->vm == NULL)
    return;
  tsr_connection_start_vm_with_media_async (self->connection, self->vm, media, self->cancellable,
                                            started_with_media_cb, g_object_ref (self));
}

static void
start_with_media_cb (GtkWidget  *widget,
                     const char *action_name,
                     GVariant   *param)
{
  TsrConsoleWindow *self = TSR_CONSOLE_WINDOW (widget);
  TsrMediaPicker *picker;

  if (self->vm == NULL)
    return;
  picker = tsr_media_picker_new (GTK_WINDOW (self), self->connection, self->vm_name, _("_Start"));
  g_signal_connect_object (picker, "media-chosen", G_CALLBACK (media_chosen_cb),
                           self, G_CONNECT_SWAPPED);
  gtk_window_present (GTK_WINDOW (picker));
}

/* The screen */

static gboolean
retry_cb (gpointer user_data)
{
  TsrConsoleWindow *self = user_data;

  self->retry_source = 0;
  update (self);
  return G_SOURCE_REMOVE;
}

static void
display_opened_cb (GObject      *object,
                   GAsyncResult *result,
                   gpointer      user_data)
{
  g_autoptr(TsrConsoleWindow) self = user_data;
  g_autoptr(GError) error = NULL;
  int fd = tsr_console_open_graphics_finish (TSR_CONNECTION (object), result, &error);

  /* The window closed meanwhile: nothing more to show. */
  if (g_cancellable_is_cancelled (self->cancellable))
    {
      if (fd >= 0)
        close (fd);
      return;
    }
  self->opening = FALSE;

  if (fd >= 0)
    tsr_vnc_view_open_fd (self->vnc_view, fd);
  else if (g_error_matches (error, TSR_ERROR, TSR_ERROR_NOT_SUPPORTED))
    {
      g_free (self->failure);
      self->failure = g_strdup (error->message);
    }
  else if (!g_error_matches (error, TSR_ERROR, TSR_ERROR_VM_NOT_RUNNING))
    {
      /* Perhaps only for now (libvirtd restarting): say so, and try again. */
      g_autofree char *markup = g_markup_escape_text (error->message, -1);

      adw_status_page_set_description (self->display_status, markup);
      self->retry_source = g_timeout_add (RETRY_MS * 2, retry_cb, self);
    }
  update (self);
}

static void
open_display (TsrConsoleWindow *self)
{
  self->opening = TRUE;
  tsr_console_open_graphics_async (self->connection, self->vm, self->cancellable,
                                   display_opened_cb, g_object_ref (self));
}

static void
vnc_disconnected_cb (TsrConsoleWindow *self,
                     const char       *reason)
{
  /* QEMU went away (the VM stopped), or the socket broke: the VM's state
   * says which a moment later.
   */
  if (g_cancellable_is_cancelled (self->cancellable))
    return;
  g_clear_handle_id (&self->retry_source, g_source_remove);
  self->retry_source = g_timeout_add (RETRY_MS, retry_cb, self);
  update (self);
}

/* The serial port */

static gboolean
serial_retry_cb (gpointer user_data)
{
  TsrConsoleWindow *self = user_data;

  self->serial_retry_source = 0;
  update (self);
  return G_SOURCE_REMOVE;
}

static void
serial_closed_cb (TsrConsoleWindow *self,
                  const GError     *error,
                  TsrSerial        *serial)
{
  if (serial != self->serial || g_cancellable_is_cancelled (self->cancellable))
    return;
  g_signal_handlers_disconnect_by_data (serial, self);
  g_clear_object (&self->serial);
  g_clear_handle_id (&self->serial_retry_source, g_source_remove);
  self->serial_retry_source = g_timeout_add (RETRY_MS * 2, serial_retry_cb, self);
}

static void
serial_opened_cb (GObject      *object,
                  GAsyncResult *result,
                  gpointer      user_data)
{
  g_autoptr(TsrConsoleWindow) self = user_data;
  g_autoptr(GError) error = NULL;
  g_autoptr(TsrSerial) serial = tsr_serial_open_finish (TSR_CONNECTION (object), result, &error);

  if (g_cancellable_is_cancelled (self->cancellable))
    {
      if (serial != NULL)
        tsr_serial_close (serial);
      return;
    }
  self->serial_opening = FALSE;

  if (serial == NULL)
    {
      /* A VM without a serial port keeps the page with the reason; others
       * try again while the VM runs.
       */
      if (!g_error_matches (error, TSR_ERROR, TSR_ERROR_NOT_SUPPORTED))
        self->serial_retry_source = g_timeout_add (RETRY_MS * 2, serial_retry_cb, self);
      return;
    }

  self->serial = g_steal_pointer (&serial);
  g_signal_connect_object (self->serial, "closed", G_CALLBACK (serial_closed_cb),
                           self, G_CONNECT_SWAPPED);
  tsr_serial_view_attach (self->serial_view, self->serial);
}

static void
update_serial (TsrConsoleWindow *self,
               gboolean          active)
{
  if (!active)
    {
      if (self->serial != NULL)
        {
          g_signal_handlers_disconnect_by_data (self->serial, self);
          tsr_serial_close (self->serial);
          g_clear_object (&self->serial);
        }
      g_clear_handle_id (&self->serial_retry_source, g_source_remove);
      return;
    }

  if (self->serial == NULL && !self->serial_opening && self->serial_retry_source == 0)
    {
      self->serial_opening = TRUE;
      tsr_serial_open_async (self->connection, self->vm, self->cancellable,
                             serial_opened_cb, g_object_ref (self));
    }
}

/* The window's state */

static void
set_status (TsrConsoleWindow *self,
            Status            status,
            const char       *title,
            const char       *description)
{
  gboolean stopped = status == STATUS_STOPPED;

  gtk_stack_set_visible_child_name (self->display_stack,
                                    status == STATUS_SCREEN ? "screen" : "status");
  if (status != STATUS_SCREEN)
    {
      adw_status_page_set_title (self->display_status, title);
      g_autofree char *markup = description ? g_markup_escape_text (description, -1) : NULL;

      /* The description is markup; the core's messages are text. */
      if (description != NULL || status != STATUS_CONNECTING)
        adw_status_page_set_description (self->display_status, markup);
    }
  gtk_widget_set_visible (GTK_WIDGET (self->status_spinner),
                          status == STATUS_CONNECTING || status == STATUS_WAITING);
  gtk_spinner_set_spinning (self->status_spinner,
                            status == STATUS_CONNECTING || status == STATUS_WAITING);
  gtk_widget_set_visible (self->status_start_button, stopped);
  gtk_widget_set_visible (self->status_media_button, stopped);
  gtk_widget_set_visible (GTK_WIDGET (self->start_button), stopped);

  if (self->status != status)
    {
      self->status = status;
      g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_STATUS]);
    }
}

static void
update_actions (TsrConsoleWindow *self)
{
  GtkWidget *widget = GTK_WIDGET (self);
  gboolean connected = tsr_connection_get_state (self->connection) == TSR_CONNECTION_STATE_CONNECTED;
  TsrVmState state = self->vm ? tsr_vm_get_state (self->vm) : TSR_VM_STATE_UNKNOWN;
  gboolean active = self->vm != NULL && tsr_vm_is_active (self->vm);
  gboolean screen = tsr_vnc_view_get_connected (self->vnc_view);

  gtk_widget_action_set_enabled (widget, "console.start", connected && self->vm && !active);
  gtk_widget_action_set_enabled (widget, "console.start-with-media", connected && self->vm && !active);
  gtk_widget_action_set_enabled (widget, "console.shutdown", connected && active);
  gtk_widget_action_set_enabled (widget, "console.force-off", connected && active);
  gtk_widget_action_set_enabled (widget, "console.pause", connected && state == TSR_VM_STATE_RUNNING);
  gtk_widget_action_set_enabled (widget, "console.resume", connected && state == TSR_VM_STATE_PAUSED);
  gtk_widget_action_set_enabled (widget, "console.send-keys", connected && active);
  gtk_widget_action_set_enabled (widget, "console.type-clipboard", screen);
  gtk_widget_action_set_enabled (widget, "console.screenshot", screen);
  gtk_widget_action_set_enabled (widget, "console.resize-to-guest", screen);
}

static void
update_title (TsrConsoleWindow *self)
{
  g_autofree char *subtitle = NULL;

  if (tsr_vnc_view_get_keyboard_grabbed (self->vnc_view))
    subtitle = g_strdup_printf (_("Press %s to release the keyboard"),
                                tsr_vnc_view_get_grab_hint (self->vnc_view));
  else if (self->vm != NULL)
    subtitle = g_strdup (tsr_vm_get_state_text (self->vm));

  adw_view_switcher_title_set_title (self->switcher_title, self->vm_name);
  adw_view_switcher_title_set_subtitle (self->switcher_title, subtitle ? subtitle : "");
  gtk_window_set_title (GTK_WINDOW (self), self->vm_name);
}

static void
vm_notify_cb (TsrConsoleWindow *self)
{
  update (self);
}

/* The VM of this window, once the connection lists it. */
static void
find_vm (TsrConsoleWindow *self)
{
  TsrVm *vm;

  if (self->vm != NULL || !tsr_connection_get_loaded (self->connection))
    return;
  vm = tsr_connection_lookup_vm (self->connection, self->vm_name);
  if (vm == NULL)
    return;
  self->vm = g_object_ref (vm);
  g_signal_connect_object (vm, "notify", G_CALLBACK (vm_notify_cb), self, G_CONNECT_SWAPPED);
}

static void
update_display (TsrConsoleWindow *self,
                gboolean          active)
{
  g_autofree char *stopped = NULL;

  if (!active)
    {
      tsr_vnc_view_close (self->vnc_view);
      g_clear_pointer (&self->failure, g_free);
      stopped = g_strdup_printf (_("“%s” Is Not Running"), self->vm_name);
      set_status (self, STATUS_STOPPED, stopped,
                  _("Its screen shows here as soon as it starts, from here or anywhere else."));
      return;
    }

  if (self->failure != NULL)
    {
      set_status (self, STATUS_FAILED, _("The Screen Cannot Be Shown"), self->failure);
      return;
    }
  if (tsr_vnc_view_get_connected (self->vnc_view))
    {
      set_status (self, STATUS_SCREEN, NULL, NULL);
      return;
    }
  if (!self->opening && self->retry_source == 0 &&
      tsr_connection_get_state (self->connection) == TSR_CONNECTION_STATE_CONNECTED)
    open_display (self);
  set_status (self, STATUS_CONNECTING, _("Connecting to the Screen…"), NULL);
}

static void
update (TsrConsoleWindow *self)
{
  gboolean connected = tsr_connection_get_state (self->connection) == TSR_CONNECTION_STATE_CONNECTED;
  g_autofree char *missing = NULL;

  find_vm (self);
  update_title (self);
  update_actions (self);

  if (self->vm == NULL)
    {
      if (tsr_connection_get_loaded (self->connection))
        {
          missing = g_strdup_printf (_("There is no VM named “%s” on %s."), self->vm_name,
                                     tsr_connection_get_uri (self->connection));
          set_status (self, STATUS_MISSING, _("No Such VM"), missing);
        }
      else if (tsr_connection_get_state (self->connection) == TSR_CONNECTION_STATE_DISCONNECTED &&
               tsr_connection_get_last_error (self->connection) != NULL)
        set_status (self, STATUS_FAILED, _("Could Not Connect"),
                    tsr_connection_get_last_error (self->connection)->message);
      else
        set_status (self, STATUS_WAITING, _("Connecting…"), tsr_connection_get_uri (self->connection));
      return;
    }

  /* A VM removed meanwhile stays listed nowhere: its window says so. */
  if (connected && tsr_connection_get_loaded (self->connection) &&
      tsr_connection_lookup_vm (self->connection, self->vm_name) != self->vm)
    {
      g_signal_handlers_disconnect_by_data (self->vm, self);
      g_clear_object (&self->vm);
      update_display (self, FALSE);
      update_serial (self, FALSE);
      update (self);
      return;
    }

  /* While libvirtd is away the screen's socket to QEMU lives on; what the
   * VM does meanwhile is learnt when the connection is back.
   */
  update_display (self, tsr_vm_is_active (self->vm));
  update_serial (self, connected && tsr_vm_is_active (self->vm));
}

/* Construction */

static void
tsr_console_window_constructed (GObject *object)
{
  TsrConsoleWindow *self = TSR_CONSOLE_WINDOW (object);

  G_OBJECT_CLASS (tsr_console_window_parent_class)->constructed (object);

  g_signal_connect_object (self->connection, "notify::state", G_CALLBACK (vm_notify_cb),
                           self, G_CONNECT_SWAPPED);
  g_signal_connect_object (self->connection, "notify::loaded", G_CALLBACK (vm_notify_cb),
                           self, G_CONNECT_SWAPPED);
  g_signal_connect_object (tsr_connection_get_vms (self->connection), "items-changed",
                           G_CALLBACK (vm_notify_cb), self, G_CONNECT_SWAPPED);
  update (self);
}

static gboolean
tsr_console_window_close_request (GtkWindow *window)
{
  TsrConsoleWindow *self = TSR_CONSOLE_WINDOW (window);

  g_cancellable_cancel (self->cancellable);
  g_clear_handle_id (&self->retry_source, g_source_remove);
  g_clear_handle_id (&self->serial_retry_source, g_source_remove);
  tsr_vnc_view_close (self->vnc_view);
  if (self->serial != NULL)
    {
      g_signal_handlers_disconnect_by_data (self->serial, self);
      tsr_serial_close (self->serial);
      g_clear_object (&self->serial);
    }
  return GTK_WINDOW_CLASS (tsr_console_window_parent_class)->close_request (window);
}

static void
tsr_console_window_dispose (GObject *object)
{
  TsrConsoleWindow *self = TSR_CONSOLE_WINDOW (object);

  g_cancellable_cancel (self->cancellable);
  g_clear_handle_id (&self->retry_source, g_source_remove);
  g_clear_handle_id (&self->serial_retry_source, g_source_remove);
  if (self->serial != NULL)
    {
      g_signal_handlers_disconnect_by_data (self->serial, self);
      tsr_serial_close (self->serial);
      g_clear_object (&self->serial);
    }
  g_clear_object (&self->vm);
  gtk_widget_dispose_template (GTK_WIDGET (self), TSR_TYPE_CONSOLE_WINDOW);

  G_OBJECT_CLASS (tsr_console_window_parent_class)->dispose (object);
}

static void
tsr_console_window_finalize (GObject *object)
{
  TsrConsoleWindow *self = TSR_CONSOLE_WINDOW (object);

  g_clear_object (&self->connection);
  g_clear_object (&self->cancellable);
  g_free (self->vm_name);
  g_free (self->failure);
  g_free (self->scale);

  G_OBJECT_CLASS (tsr_console_window_parent_class)->finalize (object);
}

static const char *
get_status (TsrConsoleWindow *self)
{
  return status_names[self->status];
}

static void
tsr_console_window_get_property (GObject    *object,
                                 guint       prop_id,
                                 GValue     *value,
                                 GParamSpec *pspec)
{
  TsrConsoleWindow *self = TSR_CONSOLE_WINDOW (object);

  switch (prop_id)
    {
    case PROP_CONNECTION:
      g_value_set_object (value, self->connection);
      break;
    case PROP_VM_NAME:
      g_value_set_string (value, self->vm_name);
      break;
    case PROP_STATUS:
      g_value_set_string (value, get_status (self));
      break;
    case PROP_SCALE:
      g_value_set_string (value, self->scale);
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
tsr_console_window_set_property (GObject      *object,
                                 guint         prop_id,
                                 const GValue *value,
                                 GParamSpec   *pspec)
{
  TsrConsoleWindow *self = TSR_CONSOLE_WINDOW (object);

  switch (prop_id)
    {
    case PROP_CONNECTION:
      self->connection = g_value_dup_object (value);
      break;
    case PROP_VM_NAME:
      self->vm_name = g_value_dup_string (value);
      break;
    case PROP_SCALE:
      tsr_console_window_set_scale (self, g_value_get_string (value));
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
fullscreen_cb (GtkWidget  *widget,
               const char *action_name,
               GVariant   *param)
{
  GtkWindow *window = GTK_WINDOW (widget);

  if (gtk_window_is_fullscreen (window))
    gtk_window_unfullscreen (window);
  else
    gtk_window_fullscreen (window);
}

static void
tsr_console_window_class_init (TsrConsoleWindowClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  GtkWidgetClass *widget_class = GTK_WIDGET_CLASS (klass);
  GtkWindowClass *window_class = GTK_WINDOW_CLASS (klass);

  object_class->constructed = tsr_console_window_constructed;
  object_class->dispose = tsr_console_window_dispose;
  object_class->finalize = tsr_console_window_finalize;
  object_class->get_property = tsr_console_window_get_property;
  object_class->set_property = tsr_console_window_set_property;
  window_class->close_request = tsr_console_window_close_request;

  properties[PROP_CONNECTION] =
    g_param_spec_object ("connection", NULL, NULL, TSR_TYPE_CONNECTION,
                         G_PARAM_READWRITE | G_PARAM_CONSTRUCT_ONLY | G_PARAM_STATIC_STRINGS);
  properties[PROP_VM_NAME] =
    g_param_spec_string ("vm-name", NULL, NULL, NULL,
                         G_PARAM_READWRITE | G_PARAM_CONSTRUCT_ONLY | G_PARAM_STATIC_STRINGS);
  properties[PROP_STATUS] =
    g_param_spec_string ("status", NULL, NULL, NULL,
                         G_PARAM_READABLE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);
  properties[PROP_SCALE] =
    g_param_spec_string ("scale", NULL, NULL, "fit",
                         G_PARAM_READWRITE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);
  g_object_class_install_properties (object_class, N_PROPS, properties);

  g_type_ensure (TSR_TYPE_VNC_VIEW);
  g_type_ensure (TSR_TYPE_SERIAL_VIEW);

  gtk_widget_class_set_template_from_resource (widget_class,
                                               "/org/tessera/Tessera/tsr-console-window.ui");
  gtk_widget_class_bind_template_child (widget_class, TsrConsoleWindow, switcher_title);
  gtk_widget_class_bind_template_child (widget_class, TsrConsoleWindow, start_button);
  gtk_widget_class_bind_template_child (widget_class, TsrConsoleWindow, keys_button);
  gtk_widget_class_bind_template_child (widget_class, TsrConsoleWindow, menu_button);
  gtk_widget_class_bind_template_child (widget_class, TsrConsoleWindow, toast_overlay);
  gtk_widget_class_bind_template_child (widget_class, TsrConsoleWindow, view_stack);
  gtk_widget_class_bind_template_child (widget_class, TsrConsoleWindow, display_stack);
  gtk_widget_class_bind_template_child (widget_class, TsrConsoleWindow, vnc_view);
  gtk_widget_class_bind_template_child (widget_class, TsrConsoleWindow, display_status);
  gtk_widget_class_bind_template_child (widget_class, TsrConsoleWindow, status_spinner);
  gtk_widget_class_bind_template_child (widget_class, TsrConsoleWindow, status_start_button);
  gtk_widget_class_bind_template_child (widget_class, TsrConsoleWindow, status_media_button);
  gtk_widget_class_bind_template_child (widget_class, TsrConsoleWindow, serial_view);
  gtk_widget_class_bind_template_child (widget_class, TsrConsoleWindow, fkeys_section);

  for (guint i = 0; i < G_N_ELEMENTS (lifecycle_actions); i++)
    gtk_widget_class_install_action (widget_class, lifecycle_actions[i].action, NULL, lifecycle_cb);
  gtk_widget_class_install_action (widget_class, "console.start-with-media", NULL,
                                   start_with_media_cb);
  gtk_widget_class_install_action (widget_class, "console.send-keys", "s", send_keys_cb);
  gtk_widget_class_install_action (widget_class, "console.type-clipboard", NULL,
                                   type_clipboard_cb);
  gtk_widget_class_install_action (widget_class, "console.screenshot", NULL, screenshot_cb);
  gtk_widget_class_install_action (widget_class, "console.resize-to-guest", NULL,
                                   resize_to_guest_cb);
  gtk_widget_class_install_property_action (widget_class, "console.scale", "scale");

  gtk_widget_class_install_action (widget_class, "console.fullscreen", NULL, fullscreen_cb);
}

static void
tsr_console_window_init (TsrConsoleWindow *self)
{
  /* The menus read the scale's state while the template is built. */
  self->scale = g_strdup ("fit");
  self->cancellable = g_cancellable_new ();

  gtk_widget_init_template (GTK_WIDGET (self));

  for (guint i = 0; i < G_N_ELEMENTS (function_keys); i++)
    {
      g_autofree char *label = g_strdup_printf ("Ctrl+Alt+F%u", i + 1);
      g_autofree char *target = g_strdup_printf ("ctrl-alt-f%u", i + 1);
      g_autoptr(GMenuItem) item = g_menu_item_new (label, NULL);

      g_menu_item_set_action_and_target_value (item, "console.send-keys",
                                               g_variant_new_string (target));
      g_menu_append_item (self->fkeys_section, item);
    }

  g_signal_connect_object (self->vnc_view, "notify::connected", G_CALLBACK (vm_notify_cb),
                           self, G_CONNECT_SWAPPED);
  g_signal_connect_object (self->vnc_view, "notify::keyboard-grabbed", G_CALLBACK (update_title),
                           self, G_CONNECT_SWAPPED);
  g_signal_connect_object (self->vnc_view, "disconnected", G_CALLBACK (vnc_disconnected_cb),
                           self, G_CONNECT_SWAPPED);
}

/**
 * tsr_console_window_present:
 * @application: (nullable): the application, which knows the windows open
 * @connection: the connection of the VM
 * @vm_name: the VM's name
 *
 * Shows the console of @vm_name, opening it unless it is open already.
 *
 * Returns: (transfer none): the window
 */
TsrConsoleWindow *
tsr_console_window_present (GtkApplication *application,
                            TsrConnection  *connection,
                            const char     *vm_name)
{
  TsrConsoleWindow *window = NULL;

  g_return_val_if_fail (TSR_IS_CONNECTION (connection), NULL);
  g_return_val_if_fail (vm_name != NULL, NULL);

  for (GList *l = application ? gtk_application_get_windows (application) : NULL; l != NULL; l = l->next)
    if (TSR_IS_CONSOLE_WINDOW (l->data) &&
        g_strcmp0 (TSR_CONSOLE_WINDOW (l->data)->vm_name, vm_name) == 0 &&
        g_strcmp0 (tsr_connection_get_uri (TSR_CONSOLE_WINDOW (l->data)->connection),
                   tsr_connection_get_uri (connection)) == 0)
      window = l->data;

  if (window == NULL)
    window = g_object_new (TSR_TYPE_CONSOLE_WINDOW,
                           "application", application,
                           "connection", connection,
                           "vm-name", vm_name,
                           NULL);
  gtk_window_present (GTK_WINDOW (window));
  return window;
}

TsrConnection *
tsr_console_window_get_connection (TsrConsoleWindow *self)
{
  g_return_val_if_fail (TSR_IS_CONSOLE_WINDOW (self), NULL);
  return self->connection;
}

const char *
tsr_console_window_get_vm_name (TsrConsoleWindow *self)
{
  g_return_val_if_fail (TSR_IS_CONSOLE_WINDOW (self), NULL);
  return self->vm_name;
}

TsrVncView *
tsr_console_window_get_vnc_view (TsrConsoleWindow *self)
{
  g_return_val_if_fail (TSR_IS_CONSOLE_WINDOW (self), NULL);
  return self->vnc_view;
}

TsrSerialView *
tsr_console_window_get_serial_view (TsrConsoleWindow *self)
{
  g_return_val_if_fail (TSR_IS_CONSOLE_WINDOW (self), NULL);
  return self->serial_view;
}

const char *
tsr_console_window_get_status (TsrConsoleWindow *self)
{
  g_return_val_if_fail (TSR_IS_CONSOLE_WINDOW (self), NULL);
  return get_status (self);
}
