/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "config.h"

#include <string.h>
#include <glib/gi18n.h>

#include "tsr-inventory.h"
#include "tsr-libvirt.h"
#include "tsr-gui-util.h"
#include "tsr-media.h"
#include "tsr-media-picker.h"
#include "tsr-vm.h"

/* Chooses install media and hands it on in the one media syntax of the
 * core (tsr-media.h): an ISO file, a host drive, a pool volume or anything
 * typed. Every choice is a radio button; the media string hangs on it.
 */
struct _TsrMediaPicker
{
  AdwWindow             parent_instance;

  /* Template children */
  AdwWindowTitle       *window_title;
  GtkButton            *accept_button;
  AdwActionRow         *file_row;
  GtkCheckButton       *file_check;
  AdwPreferencesGroup  *drives_group;
  GtkSpinner           *drives_spinner;
  AdwPreferencesGroup  *volumes_group;
  GtkSpinner           *volumes_spinner;
  AdwEntryRow          *source_row;
  GtkCheckButton       *source_check;
  GtkLabel             *source_error;
  AdwPreferencesGroup  *vm_group;
  AdwComboRow          *vm_row;
  GtkCheckButton       *vm_check;
  AdwEntryRow          *vm_path_row;

  /* State */
  TsrConnection        *connection;
  GtkFileChooserNative *file_chooser;
  GPtrArray            *checks;       /* the drive and volume radio buttons */
  char                 *media;        /* what the chosen radio stands for, if valid */
};

G_DEFINE_FINAL_TYPE (TsrMediaPicker, tsr_media_picker, TSR_TYPE_DIALOG)

enum {
  MEDIA_CHOSEN,
  N_SIGNALS
};

static guint signals[N_SIGNALS];

#define MEDIA_KEY "tsr-media"

static void
tsr_media_picker_update (TsrMediaPicker *self)
{
  g_autoptr(GError) error = NULL;
  const char *media = NULL;
  const char *text;
  g_autofree char *in_vm = NULL;

  text = gtk_editable_get_text (GTK_EDITABLE (self->source_row));
  if (gtk_check_button_get_active (self->vm_check))
    {
      GtkStringObject *vm = adw_combo_row_get_selected_item (self->vm_row);
      const char *path = gtk_editable_get_text (GTK_EDITABLE (self->vm_path_row));

      if (vm != NULL && path[0] == '/')
        media = in_vm = g_strdup_printf ("%s:%s", gtk_string_object_get_string (vm), path);
    }
  else if (gtk_check_button_get_active (self->source_check))
    {
      g_autoptr(TsrMedia) parsed = NULL;

      if (*text != '\0' && (parsed = tsr_media_parse (text, &error)) != NULL)
        media = text;
    }
  else if (gtk_check_button_get_active (self->file_check))
    media = g_object_get_data (G_OBJECT (self->file_check), MEDIA_KEY);
  else
    for (guint i = 0; i < self->checks->len; i++)
      if (gtk_check_button_get_active (g_ptr_array_index (self->checks, i)))
        media = g_object_get_data (g_ptr_array_index (self->checks, i), MEDIA_KEY);

  /* Typed text is judged as it is typed, but an empty field is no mistake. */
  if (error != NULL && *text != '\0')
    {
      gtk_label_set_text (self->source_error, error->message);
      gtk_widget_set_visible (GTK_WIDGET (self->source_error), TRUE);
      gtk_widget_add_css_class (GTK_WIDGET (self->source_row), "error");
    }
  else
    {
      gtk_widget_set_visible (GTK_WIDGET (self->source_error), FALSE);
      gtk_widget_remove_css_class (GTK_WIDGET (self->source_row), "error");
    }

  g_free (self->media);
  self->media = g_strdup (media);
  gtk_widget_action_set_enabled (GTK_WIDGET (self), "picker.accept", media != NULL);
}

static void
tsr_media_picker_check_toggled_cb (TsrMediaPicker *self,
                                   GtkCheckButton *check)
{
  tsr_media_picker_update (self);
}

static void
tsr_media_picker_vm_changed_cb (TsrMediaPicker *self)
{
  /* Typing a path chooses this source; so does picking a VM for one. */
  if (gtk_widget_get_sensitive (GTK_WIDGET (self->vm_row)) &&
      *gtk_editable_get_text (GTK_EDITABLE (self->vm_path_row)) != '\0')
    gtk_check_button_set_active (self->vm_check, TRUE);
  tsr_media_picker_update (self);
}

/* The running VMs, by name: a file inside one of them. */
static void
fill_vms (TsrMediaPicker *self)
{
  GListModel *vms = tsr_connection_get_vms (self->connection);
  g_autoptr(GtkStringList) names = gtk_string_list_new (NULL);

  for (guint i = 0; i < g_list_model_get_n_items (vms); i++)
    {
      g_autoptr(TsrVm) vm = g_list_model_get_item (vms, i);

      if (tsr_vm_is_active (vm))
        gtk_string_list_append (names, tsr_vm_get_name (vm));
    }
  adw_combo_row_set_model (self->vm_row, G_LIST_MODEL (names));
  if (g_list_model_get_n_items (G_LIST_MODEL (names)) == 0)
    {
      gtk_widget_set_sensitive (GTK_WIDGET (self->vm_row), FALSE);
      gtk_widget_set_sensitive (GTK_WIDGET (self->vm_path_row), FALSE);
      adw_action_row_set_subtitle (ADW_ACTION_ROW (self->vm_row), _("No VM is running"));
    }
}

static void
tsr_media_picker_source_changed_cb (TsrMediaPicker *self,
                                    GtkEditable    *editable)
{
  if (*gtk_editable_get_text (editable) != '\0')
    gtk_check_button_set_active (self->source_check, TRUE);
  tsr_media_picker_update (self);
}

/* Drives and volumes */

static GtkWidget *
add_choice (TsrMediaPicker      *self,
            AdwPreferencesGroup *group,
            const char          *title,
            const char          *subtitle,
            const char          *media)
{
  GtkWidget *row = adw_action_row_new ();
  GtkWidget *check = gtk_check_button_new ();

  gtk_widget_set_valign (check, GTK_ALIGN_CENTER);
  gtk_check_button_set_group (GTK_CHECK_BUTTON (check), self->source_check);
  g_object_set_data_full (G_OBJECT (check), MEDIA_KEY, g_strdup (media), g_free);
  g_signal_connect_object (check, "toggled", G_CALLBACK (tsr_media_picker_check_toggled_cb),
                           self, G_CONNECT_SWAPPED);
  g_ptr_array_add (self->checks, check);

  /* Before the title: a title set while markup is on is parsed at once. */
  adw_preferences_row_set_use_markup (ADW_PREFERENCES_ROW (row), FALSE);
  adw_preferences_row_set_title (ADW_PREFERENCES_ROW (row), title);
  if (subtitle != NULL)
    adw_action_row_set_subtitle (ADW_ACTION_ROW (row), subtitle);
  adw_action_row_add_prefix (ADW_ACTION_ROW (row), check);
  adw_action_row_set_activatable_widget (ADW_ACTION_ROW (row), check);
  adw_preferences_group_add (group, row);

  return row;
}

static void
add_placeholder (AdwPreferencesGroup *group,
                 const char          *text)
{
  GtkWidget *row = adw_action_row_new ();

  adw_preferences_row_set_title (ADW_PREFERENCES_ROW (row), text);
  gtk_widget_add_css_class (row, "dim-label");
  adw_preferences_group_add (group, row);
}

static void
tsr_media_picker_inventory_ready (gpointer      owner,
                                  TsrInventory *inventory,
                                  const GError *error)
{
  TsrMediaPicker *self = owner;

  gtk_spinner_set_spinning (self->drives_spinner, FALSE);
  gtk_spinner_set_spinning (self->volumes_spinner, FALSE);
  gtk_widget_set_visible (GTK_WIDGET (self->drives_spinner), FALSE);
  gtk_widget_set_visible (GTK_WIDGET (self->volumes_spinner), FALSE);

  if (inventory == NULL)
    {
      /* A group's description is markup; the message quotes pool names. */
      g_autofree char *markup = g_markup_escape_text (error->message, -1);

      adw_preferences_group_set_description (self->volumes_group, markup);
      add_placeholder (self->drives_group, _("Could not look for drives"));
      add_placeholder (self->volumes_group, _("Could not look for volumes"));
      return;
    }

  for (guint i = 0; inventory->drives[i] != NULL; i++)
    add_choice (self, self->drives_group, inventory->drives[i], NULL, inventory->drives[i]);
  if (inventory->drives[0] == NULL && !tsr_uri_is_local (tsr_connection_get_uri (self->connection)))
    add_placeholder (self->drives_group, _("Only for connections to this computer"));
  else if (inventory->drives[0] == NULL)
    add_placeholder (self->drives_group, _("No optical drive found"));

  for (guint i = 0; i < inventory->volumes->len; i++)
    {
      TsrInventoryVolume *volume = g_ptr_array_index (inventory->volumes, i);
      g_autofree char *size = g_format_size (volume->capacity);
      /* Translators: a storage pool volume's pool and size, "default · 4.2 GB" */
      g_autofree char *subtitle = g_strdup_printf (_("%s · %s"), volume->pool, size);

      add_choice (self, self->volumes_group, volume->name, subtitle, volume->media);
    }
  if (inventory->volumes->len == 0)
    add_placeholder (self->volumes_group, _("No ISO images in the storage pools"));
}

/* The file chooser */

static void
tsr_media_picker_file_response_cb (TsrMediaPicker       *self,
                                   int                   response,
                                   GtkFileChooserNative *chooser)
{
  g_autoptr(GFile) file = NULL;
  g_autofree char *path = NULL;

  if (response == GTK_RESPONSE_ACCEPT)
    file = gtk_file_chooser_get_file (GTK_FILE_CHOOSER (chooser));
  if (file != NULL)
    path = g_file_get_path (file);

  gtk_native_dialog_destroy (GTK_NATIVE_DIALOG (chooser));
  g_clear_object (&self->file_chooser);

  if (path == NULL)
    return;

  adw_action_row_set_subtitle (self->file_row, path);
  g_object_set_data_full (G_OBJECT (self->file_check), MEDIA_KEY, g_strdup (path), g_free);
  gtk_widget_set_sensitive (GTK_WIDGET (self->file_check), TRUE);
  gtk_check_button_set_active (self->file_check, TRUE);
  tsr_media_picker_update (self);
}

static void
tsr_media_picker_choose_file_cb (GtkWidget  *widget,
                                 const char *action_name,
                                 GVariant   *param)
{
  TsrMediaPicker *self = TSR_MEDIA_PICKER (widget);
  g_autoptr(GtkFileFilter) iso = gtk_file_filter_new ();
  g_autoptr(GtkFileFilter) all = gtk_file_filter_new ();

  if (self->file_chooser != NULL)
    {
      gtk_native_dialog_show (GTK_NATIVE_DIALOG (self->file_chooser));
      return;
    }

  self->file_chooser = gtk_file_chooser_native_new (_("Choose an ISO Image"), GTK_WINDOW (self),
                                                    GTK_FILE_CHOOSER_ACTION_OPEN,
                                                    _("_Select"), _("_Cancel"));
  gtk_native_dialog_set_modal (GTK_NATIVE_DIALOG (self->file_chooser), TRUE);

  gtk_file_filter_set_name (iso, _("ISO Images"));
  gtk_file_filter_add_pattern (iso, "*.iso");
  gtk_file_filter_add_pattern (iso, "*.ISO");
  gtk_file_filter_add_mime_type (iso, "application/x-cd-image");
  gtk_file_chooser_add_filter (GTK_FILE_CHOOSER (self->file_chooser), iso);
  gtk_file_filter_set_name (all, _("All Files"));
  gtk_file_filter_add_pattern (all, "*");
  gtk_file_chooser_add_filter (GTK_FILE_CHOOSER (self->file_chooser), all);
  gtk_file_chooser_set_filter (GTK_FILE_CHOOSER (self->file_chooser), iso);

  g_signal_connect_object (self->file_chooser, "response",
                           G_CALLBACK (tsr_media_picker_file_response_cb),
                           self, G_CONNECT_SWAPPED);
  gtk_native_dialog_show (GTK_NATIVE_DIALOG (self->file_chooser));
}

static void
tsr_media_picker_file_row_activated_cb (TsrMediaPicker *self,
                                        AdwActionRow   *row)
{
  if (g_object_get_data (G_OBJECT (self->file_check), MEDIA_KEY) != NULL)
    gtk_check_button_set_active (self->file_check, TRUE);
  else
    gtk_widget_activate_action (GTK_WIDGET (self), "picker.choose-file", NULL);
}

static void
tsr_media_picker_accept_cb (GtkWidget  *widget,
                            const char *action_name,
                            GVariant   *param)
{
  TsrMediaPicker *self = TSR_MEDIA_PICKER (widget);
  g_autofree char *media = g_strdup (self->media);

  if (media == NULL)
    return;

  g_signal_emit (self, signals[MEDIA_CHOSEN], 0, media);
  gtk_window_close (GTK_WINDOW (self));
}

/* GObject */

static gboolean
tsr_media_picker_close_request (GtkWindow *window)
{
  TsrMediaPicker *self = TSR_MEDIA_PICKER (window);

  if (self->file_chooser != NULL)
    gtk_native_dialog_destroy (GTK_NATIVE_DIALOG (self->file_chooser));

  return GTK_WINDOW_CLASS (tsr_media_picker_parent_class)->close_request (window);
}

static void
tsr_media_picker_dispose (GObject *object)
{
  TsrMediaPicker *self = TSR_MEDIA_PICKER (object);

  g_cancellable_cancel (tsr_dialog_get_cancellable (TSR_DIALOG (self)));
  if (self->file_chooser != NULL)
    gtk_native_dialog_destroy (GTK_NATIVE_DIALOG (self->file_chooser));
  g_clear_object (&self->file_chooser);

  gtk_widget_dispose_template (GTK_WIDGET (self), TSR_TYPE_MEDIA_PICKER);

  g_clear_pointer (&self->checks, g_ptr_array_unref);
  g_clear_object (&self->connection);

  G_OBJECT_CLASS (tsr_media_picker_parent_class)->dispose (object);
}

static void
tsr_media_picker_finalize (GObject *object)
{
  TsrMediaPicker *self = TSR_MEDIA_PICKER (object);

  g_free (self->media);

  G_OBJECT_CLASS (tsr_media_picker_parent_class)->finalize (object);
}

static void
tsr_media_picker_class_init (TsrMediaPickerClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  GtkWidgetClass *widget_class = GTK_WIDGET_CLASS (klass);
  GtkWindowClass *window_class = GTK_WINDOW_CLASS (klass);

  object_class->dispose = tsr_media_picker_dispose;
  object_class->finalize = tsr_media_picker_finalize;
  window_class->close_request = tsr_media_picker_close_request;

  /**
   * TsrMediaPicker::media-chosen:
   * @self: the picker
   * @media: the chosen media, as tsr_media_parse() reads it
   *
   * Emitted when the user accepts a choice, just before the picker closes.
   */
  signals[MEDIA_CHOSEN] =
    g_signal_new ("media-chosen",
                  G_TYPE_FROM_CLASS (klass),
                  G_SIGNAL_RUN_LAST,
                  0, NULL, NULL, NULL,
                  G_TYPE_NONE, 1, G_TYPE_STRING);

  gtk_widget_class_set_template_from_resource (widget_class,
                                               "/org/tessera/Tessera/tsr-media-picker.ui");
  gtk_widget_class_bind_template_child (widget_class, TsrMediaPicker, window_title);
  gtk_widget_class_bind_template_child (widget_class, TsrMediaPicker, accept_button);
  gtk_widget_class_bind_template_child (widget_class, TsrMediaPicker, file_row);
  gtk_widget_class_bind_template_child (widget_class, TsrMediaPicker, file_check);
  gtk_widget_class_bind_template_child (widget_class, TsrMediaPicker, drives_group);
  gtk_widget_class_bind_template_child (widget_class, TsrMediaPicker, drives_spinner);
  gtk_widget_class_bind_template_child (widget_class, TsrMediaPicker, volumes_group);
  gtk_widget_class_bind_template_child (widget_class, TsrMediaPicker, volumes_spinner);
  gtk_widget_class_bind_template_child (widget_class, TsrMediaPicker, source_row);
  gtk_widget_class_bind_template_child (widget_class, TsrMediaPicker, source_check);
  gtk_widget_class_bind_template_child (widget_class, TsrMediaPicker, source_error);
  gtk_widget_class_bind_template_child (widget_class, TsrMediaPicker, vm_group);
  gtk_widget_class_bind_template_child (widget_class, TsrMediaPicker, vm_row);
  gtk_widget_class_bind_template_child (widget_class, TsrMediaPicker, vm_check);
  gtk_widget_class_bind_template_child (widget_class, TsrMediaPicker, vm_path_row);
  gtk_widget_class_bind_template_callback (widget_class, tsr_media_picker_vm_changed_cb);
  gtk_widget_class_bind_template_callback (widget_class, tsr_media_picker_check_toggled_cb);
  gtk_widget_class_bind_template_callback (widget_class, tsr_media_picker_source_changed_cb);
  gtk_widget_class_bind_template_callback (widget_class, tsr_media_picker_file_row_activated_cb);

  gtk_widget_class_install_action (widget_class, "picker.accept", NULL,
                                   tsr_media_picker_accept_cb);
  gtk_widget_class_install_action (widget_class, "picker.choose-file", NULL,
                                   tsr_media_picker_choose_file_cb);
  gtk_widget_class_add_binding_action (widget_class, GDK_KEY_Escape, 0, "window.close", NULL);
}

static void
tsr_media_picker_init (TsrMediaPicker *self)
{
  gtk_widget_init_template (GTK_WIDGET (self));

  self->checks = g_ptr_array_new ();
  gtk_check_button_set_group (self->file_check, self->source_check);
  gtk_check_button_set_group (self->vm_check, self->source_check);

  gtk_widget_action_set_enabled (GTK_WIDGET (self), "picker.accept", FALSE);
  gtk_window_set_default_widget (GTK_WINDOW (self), GTK_WIDGET (self->accept_button));
}

/**
 * tsr_media_picker_new:
 * @parent: the window the picker belongs to
 * @connection: the connection whose pools and host the media come from
 * @subtitle: (nullable): what the media is for, e.g. the VM's name
 * @accept_label: the label of the button that accepts, with a mnemonic
 *
 * Returns: (transfer floating): a new picker; connect to
 *   #TsrMediaPicker::media-chosen and present it
 */
TsrMediaPicker *
tsr_media_picker_new (GtkWindow     *parent,
                      TsrConnection *connection,
                      const char    *subtitle,
                      const char    *accept_label)
{
  TsrMediaPicker *self;

  g_return_val_if_fail (!parent || GTK_IS_WINDOW (parent), NULL);
  g_return_val_if_fail (TSR_IS_CONNECTION (connection), NULL);

  self = g_object_new (TSR_TYPE_MEDIA_PICKER, NULL);
  tsr_dialog_set_parent (TSR_DIALOG (self), parent);
  self->connection = g_object_ref (connection);

  if (subtitle != NULL)
    adw_window_title_set_subtitle (self->window_title, subtitle);
  if (accept_label != NULL)
    gtk_button_set_label (self->accept_button, accept_label);

  /* A file chooser shows this computer's files, which a remote host does
   * not have.
   */
  if (!tsr_uri_is_local (tsr_connection_get_uri (connection)))
    {
      gtk_widget_set_sensitive (GTK_WIDGET (self->file_row), FALSE);
      adw_action_row_set_subtitle (self->file_row,
                                   _("Only for connections to this computer: type the path on "
                                     "the host under Other Source"));
    }

  fill_vms (self);
  gtk_spinner_set_spinning (self->drives_spinner, TRUE);
  gtk_spinner_set_spinning (self->volumes_spinner, TRUE);
  tsr_dialog_get_inventory (TSR_DIALOG (self), connection, tsr_media_picker_inventory_ready);

  return self;
}

/**
 * tsr_media_picker_get_media:
 * @self: a #TsrMediaPicker
 *
 * Returns: (nullable): the chosen media, or %NULL while nothing valid is chosen
 */
const char *
tsr_media_picker_get_media (TsrMediaPicker *self)
{
  g_return_val_if_fail (TSR_IS_MEDIA_PICKER (self), NULL);

  return self->media;
}

/**
 * tsr_media_picker_select:
 * @self: a #TsrMediaPicker
 * @media: media in the core's syntax
 *
 * Chooses the drive or volume that @media names, as a click on it would;
 * other media are typed into the Other Source field.
 *
 * Returns: %TRUE if @media was one of the listed drives or volumes
 */
gboolean
tsr_media_picker_select (TsrMediaPicker *self,
                         const char     *media)
{
  g_return_val_if_fail (TSR_IS_MEDIA_PICKER (self), FALSE);
  g_return_val_if_fail (media != NULL, FALSE);

  for (guint i = 0; i < self->checks->len; i++)
    {
      GtkCheckButton *check = g_ptr_array_index (self->checks, i);

      if (g_strcmp0 (g_object_get_data (G_OBJECT (check), MEDIA_KEY), media) == 0)
        {
          gtk_check_button_set_active (check, TRUE);
          return TRUE;
        }
    }

  gtk_editable_set_text (GTK_EDITABLE (self->source_row), media);
  return FALSE;
}
