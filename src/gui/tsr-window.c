/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "config.h"

#include <string.h>
#include <glib/gi18n.h>

#include "tsr-gui-util.h"
#include "tsr-vm-cell.h"
#include "tsr-window-private.h"

G_DEFINE_FINAL_TYPE (TsrWindow, tsr_window, ADW_TYPE_APPLICATION_WINDOW)

enum {
  PROP_0,
  PROP_URI,
  PROP_CONNECTION,
  PROP_SELECTED_VM,
  N_PROPS
};

static GParamSpec *properties[N_PROPS];

/* Without notify: as a construct property, constructed() opens it. */
static void
tsr_window_set_uri (TsrWindow  *self,
                    const char *uri)
{
  g_free (self->uri);
  self->uri = g_strdup (uri);
}

static const TsrGuiProperty accessors[N_PROPS] = {
  [PROP_URI] = TSR_GUI_PROPERTY (tsr_window_get_uri, tsr_window_set_uri),
  [PROP_CONNECTION] = TSR_GUI_PROPERTY_READ_ONLY (tsr_window_get_connection),
  [PROP_SELECTED_VM] = TSR_GUI_PROPERTY_READ_ONLY (tsr_window_get_selected_vm),
};

/* Pages and the disconnected strip */

static void
tsr_window_update_page (TsrWindow *self)
{
  TsrConnectionState state;
  const GError *error;
  const char *page;
  gboolean loaded;
  gboolean lost;

  g_assert (TSR_IS_WINDOW (self));

  if (self->connection == NULL)
    return;

  state = tsr_connection_get_state (self->connection);
  loaded = tsr_connection_get_loaded (self->connection);
  error = tsr_connection_get_last_error (self->connection);

  if (!loaded)
    {
      if (state == TSR_CONNECTION_STATE_DISCONNECTED && error != NULL)
        {
          g_autofree char *title = g_strdup_printf (_("Cannot connect to %s"), self->uri);
          g_autofree char *message = g_markup_escape_text (error->message, -1);
          g_autofree char *description = NULL;

          /* The core's message says what to check; this says what else there is. */
          description = g_strdup_printf ("%s\n\n%s", message,
                                         _("To look around meanwhile, open libvirt’s demo "
                                           "connection, which needs no daemon."));
          adw_status_page_set_title (self->error_page, title);
          adw_status_page_set_description (self->error_page, description);
          page = "error";
        }
      else
        page = "loading";
    }
  else if (g_list_model_get_n_items (tsr_connection_get_vms (self->connection)) == 0)
    page = "empty";
  else if (g_list_model_get_n_items (G_LIST_MODEL (self->filter_model)) == 0)
    page = "no-results";
  else
    page = "list";

  gtk_stack_set_visible_child_name (self->stack, page);
  gtk_spinner_set_spinning (self->loading_spinner, strcmp (page, "loading") == 0);

  /* Once the list is there it stays while the core reconnects; the strip
   * says that what it shows may be out of date.
   */
  lost = loaded && state != TSR_CONNECTION_STATE_CONNECTED;
  if (lost)
    {
      g_autofree char *text = g_strdup_printf (_("Disconnected from %s — reconnecting…"),
                                               self->uri);

      gtk_label_set_text (self->disconnected_label, text);
      gtk_widget_set_tooltip_text (GTK_WIDGET (self->disconnected_label),
                                   error != NULL ? error->message : NULL);
    }
  gtk_spinner_set_spinning (self->disconnected_spinner, lost);
  gtk_revealer_set_reveal_child (self->disconnected_revealer, lost);

  _tsr_window_actions_update (self);
}

static void
tsr_window_connection_notify_cb (TsrWindow     *self,
                                 GParamSpec    *pspec,
                                 TsrConnection *connection)
{
  tsr_window_update_page (self);
}

static void
tsr_window_filtered_items_changed_cb (TsrWindow  *self,
                                      guint       position,
                                      guint       removed,
                                      guint       added,
                                      GListModel *model)
{
  tsr_window_update_page (self);
}

static void
tsr_window_open_done_cb (GObject      *object,
                         GAsyncResult *result,
                         gpointer      user_data)
{
  TsrConnection *connection = TSR_CONNECTION (object);
  g_autoptr(TsrWindow) self = user_data;
  g_autoptr(GError) error = NULL;

  if (!tsr_connection_open_finish (connection, result, &error))
    g_debug ("Opening %s failed: %s", tsr_connection_get_uri (connection), error->message);

  if (connection == self->connection)
    tsr_window_update_page (self);
}

static void
tsr_window_drop_connection (TsrWindow *self)
{
  if (self->connection == NULL)
    return;

  g_signal_handlers_disconnect_by_data (self->connection, self);
  g_signal_handlers_disconnect_by_data (tsr_connection_get_vms (self->connection), self);
  _tsr_window_list_stop (self);
  tsr_connection_close (self->connection);
  g_clear_object (&self->connection);
}

/* Replaces the connection: "Try Again" opens the same URI afresh, "Use Demo
 * Connection" another one.
 */
void
_tsr_window_open_uri (TsrWindow  *self,
                      const char *uri)
{
  g_autofree char *loading_title = NULL;
  GListModel *vms;

  g_assert (TSR_IS_WINDOW (self));
  g_assert (uri != NULL);

  tsr_window_drop_connection (self);

  if (g_strcmp0 (self->uri, uri) != 0)
    {
      tsr_window_set_uri (self, uri);
      g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_URI]);
    }

  adw_window_title_set_subtitle (self->window_title, uri);
  loading_title = g_strdup_printf (_("Connecting to %s…"), uri);
  adw_status_page_set_title (self->loading_page, loading_title);

  self->connection = tsr_connection_new (uri);
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_CONNECTION]);
  /* $TESSERA_KERNELS_DIR, which the connection starts from, wins over the
   * setting, so that tests and one-off runs can point elsewhere.
   */
  if (g_getenv ("TESSERA_KERNELS_DIR") == NULL)
    g_settings_bind (self->settings, "kernels-dir", self->connection, "kernels-dir",
                     G_SETTINGS_BIND_GET);
  g_signal_connect_object (self->connection, "notify::state",
                           G_CALLBACK (tsr_window_connection_notify_cb),
                           self, G_CONNECT_SWAPPED);
  g_signal_connect_object (self->connection, "notify::loaded",
                           G_CALLBACK (tsr_window_connection_notify_cb),
                           self, G_CONNECT_SWAPPED);
  g_signal_connect_object (self->connection, "recovered",
                           G_CALLBACK (_tsr_window_recovered_cb),
                           self, G_CONNECT_SWAPPED);
  g_signal_connect_object (self->connection, "vm-stopped",
                           G_CALLBACK (_tsr_window_vm_stopped_cb),
                           self, G_CONNECT_SWAPPED);

  vms = tsr_connection_get_vms (self->connection);
  _tsr_window_list_show (self, vms);

  tsr_connection_open_async (self->connection,
                             self->cancellable,
                             tsr_window_open_done_cb,
                             g_object_ref (self));

  tsr_window_update_page (self);
}

/* Selection */

static void
tsr_window_selected_vm_notify_cb (TsrWindow  *self,
                                  GParamSpec *pspec,
                                  TsrVm      *vm)
{
  _tsr_window_actions_update (self);
}

static void
tsr_window_set_selected_vm (TsrWindow *self,
                            TsrVm     *vm)
{
  if (self->selected_vm == vm)
    return;

  if (self->selected_vm != NULL)
    g_signal_handlers_disconnect_by_func (self->selected_vm,
                                          tsr_window_selected_vm_notify_cb,
                                          self);

  g_set_object (&self->selected_vm, vm);
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_SELECTED_VM]);

  if (vm != NULL)
    g_signal_connect_object (vm, "notify",
                             G_CALLBACK (tsr_window_selected_vm_notify_cb),
                             self,
                             G_CONNECT_SWAPPED);

  _tsr_window_actions_update (self);
}

static void
tsr_window_selection_changed_cb (TsrWindow          *self,
                                 GParamSpec         *pspec,
                                 GtkSingleSelection *selection)
{
  g_assert (TSR_IS_WINDOW (self));

  tsr_window_set_selected_vm (self, gtk_single_selection_get_selected_item (selection));
}

/* Window size */

static void
tsr_window_save_size (TsrWindow *self)
{
  int width;
  int height;

  gtk_window_get_default_size (GTK_WINDOW (self), &width, &height);

  g_settings_delay (self->settings);
  g_settings_set_boolean (self->settings, "window-maximized",
                          gtk_window_is_maximized (GTK_WINDOW (self)));
  if (!gtk_window_is_maximized (GTK_WINDOW (self)) && width > 0 && height > 0)
    {
      g_settings_set_int (self->settings, "window-width", width);
      g_settings_set_int (self->settings, "window-height", height);
    }
  g_settings_apply (self->settings);
}

static gboolean
tsr_window_close_request (GtkWindow *window)
{
  TsrWindow *self = TSR_WINDOW (window);

  tsr_window_save_size (self);
  g_cancellable_cancel (self->cancellable);

  return GTK_WINDOW_CLASS (tsr_window_parent_class)->close_request (window);
}

/* GObject */

static void
tsr_window_constructed (GObject *object)
{
  TsrWindow *self = (TsrWindow *) object;

  G_OBJECT_CLASS (tsr_window_parent_class)->constructed (object);

  gtk_window_set_default_size (GTK_WINDOW (self),
                               g_settings_get_int (self->settings, "window-width"),
                               g_settings_get_int (self->settings, "window-height"));
  if (g_settings_get_boolean (self->settings, "window-maximized"))
    gtk_window_maximize (GTK_WINDOW (self));

  _tsr_window_open_uri (self, self->uri != NULL ? self->uri : TSR_DEFAULT_URI);
}

static void
tsr_window_dispose (GObject *object)
{
  TsrWindow *self = (TsrWindow *) object;

  if (self->cancellable != NULL)
    g_cancellable_cancel (self->cancellable);

  g_clear_handle_id (&self->resort_source, g_source_remove);
  g_clear_handle_id (&self->stopped_source, g_source_remove);
  tsr_window_drop_connection (self);
  tsr_window_set_selected_vm (self, NULL);
  g_clear_pointer (&self->context_menu, gtk_widget_unparent);
  _tsr_window_actions_dispose (self);

  /* Cells are unbound while the template goes; the list asks no more. */
  if (self->stable_model != NULL)
    tsr_stable_list_set_shown_func (self->stable_model, NULL, NULL);
  gtk_widget_dispose_template (GTK_WIDGET (self), TSR_TYPE_WINDOW);

  g_clear_object (&self->filter);
  g_clear_object (&self->settings);
  g_clear_object (&self->cancellable);

  G_OBJECT_CLASS (tsr_window_parent_class)->dispose (object);
}

static void
tsr_window_finalize (GObject *object)
{
  TsrWindow *self = (TsrWindow *) object;

  g_clear_pointer (&self->watched_vms, g_hash_table_unref);
  g_clear_pointer (&self->bound_vms, g_hash_table_unref);
  g_clear_pointer (&self->search_text, g_free);
  g_clear_pointer (&self->search_template, g_free);
  g_clear_pointer (&self->uri, g_free);

  G_OBJECT_CLASS (tsr_window_parent_class)->finalize (object);
}

static void
tsr_window_class_init (TsrWindowClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  GtkWidgetClass *widget_class = GTK_WIDGET_CLASS (klass);
  GtkWindowClass *window_class = GTK_WINDOW_CLASS (klass);

  object_class->constructed = tsr_window_constructed;
  object_class->dispose = tsr_window_dispose;
  object_class->finalize = tsr_window_finalize;

  window_class->close_request = tsr_window_close_request;

  properties[PROP_URI] =
    g_param_spec_string ("uri", NULL, NULL,
                         NULL,
                         (G_PARAM_READWRITE | G_PARAM_CONSTRUCT_ONLY | G_PARAM_STATIC_STRINGS));
  /**
   * TsrWindow:connection:
   *
   * The connection the window shows, replaced when it opens another URI.
   */
  properties[PROP_CONNECTION] =
    g_param_spec_object ("connection", NULL, NULL, TSR_TYPE_CONNECTION,
                         G_PARAM_READABLE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);
  /**
   * TsrWindow:selected-vm:
   *
   * The VM selected in the list, which the window's actions act on.
   */
  properties[PROP_SELECTED_VM] =
    g_param_spec_object ("selected-vm", NULL, NULL, TSR_TYPE_VM,
                         G_PARAM_READABLE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);

  tsr_gui_install_properties (object_class, N_PROPS, properties, accessors);

  g_type_ensure (TSR_TYPE_VM);
  g_type_ensure (TSR_TYPE_VM_CELL);
  g_type_ensure (TSR_TYPE_STABLE_LIST);

  gtk_widget_class_set_template_from_resource (widget_class, "/org/tessera/Tessera/tsr-window.ui");
  gtk_widget_class_bind_template_child (widget_class, TsrWindow, window_title);
  gtk_widget_class_bind_template_child (widget_class, TsrWindow, search_button);
  gtk_widget_class_bind_template_child (widget_class, TsrWindow, search_bar);
  gtk_widget_class_bind_template_child (widget_class, TsrWindow, search_entry);
  gtk_widget_class_bind_template_child (widget_class, TsrWindow, primary_menu_button);
  gtk_widget_class_bind_template_child (widget_class, TsrWindow, start_button);
  gtk_widget_class_bind_template_child (widget_class, TsrWindow, shutdown_button);
  gtk_widget_class_bind_template_child (widget_class, TsrWindow, toast_overlay);
  gtk_widget_class_bind_template_child (widget_class, TsrWindow, main_box);
  gtk_widget_class_bind_template_child (widget_class, TsrWindow, disconnected_revealer);
  gtk_widget_class_bind_template_child (widget_class, TsrWindow, disconnected_label);
  gtk_widget_class_bind_template_child (widget_class, TsrWindow, disconnected_spinner);
  gtk_widget_class_bind_template_child (widget_class, TsrWindow, stack);
  gtk_widget_class_bind_template_child (widget_class, TsrWindow, loading_page);
  gtk_widget_class_bind_template_child (widget_class, TsrWindow, loading_spinner);
  gtk_widget_class_bind_template_child (widget_class, TsrWindow, error_page);
  gtk_widget_class_bind_template_child (widget_class, TsrWindow, demo_button);
  gtk_widget_class_bind_template_child (widget_class, TsrWindow, column_view);
  gtk_widget_class_bind_template_child (widget_class, TsrWindow, selection);
  gtk_widget_class_bind_template_child (widget_class, TsrWindow, slice_model);
  gtk_widget_class_bind_template_child (widget_class, TsrWindow, stable_model);
  gtk_widget_class_bind_template_child (widget_class, TsrWindow, sort_model);
  gtk_widget_class_bind_template_child (widget_class, TsrWindow, filter_model);
  gtk_widget_class_bind_template_child (widget_class, TsrWindow, label_column);
  gtk_widget_class_bind_template_child (widget_class, TsrWindow, name_column);
  gtk_widget_class_bind_template_child (widget_class, TsrWindow, state_column);
  gtk_widget_class_bind_template_child (widget_class, TsrWindow, class_column);
  gtk_widget_class_bind_template_child (widget_class, TsrWindow, template_column);
  gtk_widget_class_bind_template_child (widget_class, TsrWindow, virt_mode_column);
  gtk_widget_class_bind_template_child (widget_class, TsrWindow, network_column);
  gtk_widget_class_bind_template_child (widget_class, TsrWindow, ip_column);
  gtk_widget_class_bind_template_child (widget_class, TsrWindow, netmask_column);
  gtk_widget_class_bind_template_child (widget_class, TsrWindow, gateway_column);
  gtk_widget_class_bind_template_child (widget_class, TsrWindow, mac_column);
  gtk_widget_class_bind_template_child (widget_class, TsrWindow, vm_menu);
  gtk_widget_class_bind_template_child (widget_class, TsrWindow, copy_section);
  gtk_widget_class_bind_template_callback_full (widget_class,
                                                "tsr_window_search_changed_cb",
                                                G_CALLBACK (_tsr_window_search_changed_cb));
  gtk_widget_class_bind_template_callback_full (widget_class,
                                                "tsr_window_row_activated_cb",
                                                G_CALLBACK (_tsr_window_row_activated_cb));
  gtk_widget_class_bind_template_callback_full (widget_class,
                                                "tsr_window_search_activate_cb",
                                                G_CALLBACK (_tsr_window_search_activate_cb));
  gtk_widget_class_bind_template_callback_full (widget_class,
                                                "tsr_window_cell_setup_cb",
                                                G_CALLBACK (_tsr_window_cell_setup_cb));
  gtk_widget_class_bind_template_callback_full (widget_class,
                                                "tsr_window_cell_bind_cb",
                                                G_CALLBACK (_tsr_window_cell_bind_cb));
  gtk_widget_class_bind_template_callback_full (widget_class,
                                                "tsr_window_cell_unbind_cb",
                                                G_CALLBACK (_tsr_window_cell_unbind_cb));
  gtk_widget_class_bind_template_callback (widget_class, tsr_window_selection_changed_cb);
  gtk_widget_class_bind_template_callback (widget_class, tsr_window_filtered_items_changed_cb);
  gtk_widget_class_bind_template_callback_full (widget_class,
                                                "tsr_window_list_secondary_pressed_cb",
                                                G_CALLBACK (_tsr_window_list_secondary_pressed_cb));

  _tsr_window_class_actions_init (klass);
}

static void
tsr_window_init (TsrWindow *self)
{
  gtk_widget_init_template (GTK_WIDGET (self));

  self->cancellable = g_cancellable_new ();
  self->settings = g_settings_new (APP_ID);
  self->watched_vms = g_hash_table_new_full (NULL, NULL, g_object_unref, NULL);

  _tsr_window_list_init (self);

  gtk_search_bar_connect_entry (self->search_bar, GTK_EDITABLE (self->search_entry));

  _tsr_window_actions_init (self);
}

/**
 * tsr_window_new:
 * @application: (nullable): the #GtkApplication
 * @uri: (nullable): the libvirt URI to open, or %NULL for the built-in default
 *
 * Returns: (transfer floating): a new window that starts opening @uri at once
 */
TsrWindow *
tsr_window_new (GtkApplication *application,
                const char     *uri)
{
  g_return_val_if_fail (!application || GTK_IS_APPLICATION (application), NULL);

  return g_object_new (TSR_TYPE_WINDOW,
                       "application", application,
                       "uri", uri,
                       NULL);
}

const char *
tsr_window_get_uri (TsrWindow *self)
{
  g_return_val_if_fail (TSR_IS_WINDOW (self), NULL);

  return self->uri;
}

TsrConnection *
tsr_window_get_connection (TsrWindow *self)
{
  g_return_val_if_fail (TSR_IS_WINDOW (self), NULL);

  return self->connection;
}

TsrVm *
tsr_window_get_selected_vm (TsrWindow *self)
{
  g_return_val_if_fail (TSR_IS_WINDOW (self), NULL);

  return self->selected_vm;
}
