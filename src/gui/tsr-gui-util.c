/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "config.h"

#include <glib/gi18n.h>

#include "tsr-error.h"
#include "tsr-gui-util.h"

/**
 * tsr_gui_show_field_message:
 * @label: the label under the group of the row
 * @row: (nullable): the row that is wrong, marked while @message is shown
 * @message: (nullable): the reason, or %NULL once the field is right
 */
void
tsr_gui_show_field_message (GtkLabel   *label,
                            GtkWidget  *row,
                            const char *message)
{
  g_return_if_fail (GTK_IS_LABEL (label));

  gtk_label_set_text (label, message ? message : "");
  gtk_widget_set_visible (GTK_WIDGET (label), message != NULL);
  if (row == NULL)
    return;
  if (message != NULL)
    gtk_widget_add_css_class (row, "error");
  else
    gtk_widget_remove_css_class (row, "error");
}

/**
 * tsr_gui_show_name_error:
 * @label: the label under the name row's group
 * @row: the name row
 * @error: why an operation failed
 *
 * Shows @error at the name field when the name is what was wrong.
 *
 * Returns: whether it was
 */
gboolean
tsr_gui_show_name_error (GtkLabel     *label,
                         GtkWidget    *row,
                         const GError *error)
{
  if (!g_error_matches (error, TSR_ERROR, TSR_ERROR_INVALID_NAME) &&
      !g_error_matches (error, TSR_ERROR, TSR_ERROR_NAME_IN_USE))
    return FALSE;

  tsr_gui_show_field_message (label, row, error->message);
  gtk_widget_grab_focus (row);
  return TRUE;
}

/**
 * tsr_gui_show_error:
 * @parent: the window the message belongs to
 * @heading: what failed
 * @body: why, and what to do about it: the core's messages say both
 *
 * Shows a message that stays until closed.
 */
void
tsr_gui_show_error (GtkWindow  *parent,
                    const char *heading,
                    const char *body)
{
  AdwMessageDialog *dialog;

  dialog = ADW_MESSAGE_DIALOG (adw_message_dialog_new (parent, heading, body));
  adw_message_dialog_add_response (dialog, "close", _("_Close"));
  gtk_window_present (GTK_WINDOW (dialog));
}

/**
 * tsr_gui_add_toast:
 * @overlay: where to show it
 * @last: (inout) (nullable): the dialog's last toast, replaced by this one
 * @text: plain text, such as an error message
 * @timeout: seconds, 0 to stay until dismissed
 */
void
tsr_gui_add_toast (AdwToastOverlay  *overlay,
                   AdwToast        **last,
                   const char       *text,
                   guint             timeout)
{
  g_autofree char *markup = NULL;
  AdwToast *toast;

  g_return_if_fail (ADW_IS_TOAST_OVERLAY (overlay));
  g_return_if_fail (text != NULL);

  markup = g_markup_escape_text (text, -1);
  toast = adw_toast_new (markup);
  adw_toast_set_timeout (toast, timeout);
  if (last != NULL)
    g_set_object (last, toast);
  adw_toast_overlay_add_toast (overlay, toast);
}

/* What a dialog said about the last try is stale once the next one starts. */
void
tsr_gui_dismiss_toast (AdwToast **last)
{
  g_return_if_fail (last != NULL);

  if (*last != NULL)
    adw_toast_dismiss (*last);
  g_clear_object (last);
}

/* Lifecycle */

typedef void     (*LifecycleAsyncFunc)  (TsrConnection       *connection,
                                         TsrVm               *vm,
                                         GCancellable        *cancellable,
                                         GAsyncReadyCallback  callback,
                                         gpointer             user_data);
typedef gboolean (*LifecycleFinishFunc) (TsrConnection       *connection,
                                         GAsyncResult        *result,
                                         GError             **error);

static const struct
{
  LifecycleAsyncFunc  async;
  LifecycleFinishFunc finish;
} lifecycle_steps[] = {
  [TSR_GUI_LIFECYCLE_START] = { tsr_connection_start_vm_async,
                                tsr_connection_start_vm_finish },
  [TSR_GUI_LIFECYCLE_SHUTDOWN] = { tsr_connection_shutdown_vm_async,
                                   tsr_connection_shutdown_vm_finish },
  [TSR_GUI_LIFECYCLE_FORCE_OFF] = { tsr_connection_force_off_vm_async,
                                    tsr_connection_force_off_vm_finish },
  [TSR_GUI_LIFECYCLE_PAUSE] = { tsr_connection_pause_vm_async,
                                tsr_connection_pause_vm_finish },
  [TSR_GUI_LIFECYCLE_RESUME] = { tsr_connection_resume_vm_async,
                                 tsr_connection_resume_vm_finish },
};

/**
 * tsr_gui_lifecycle_async:
 * @connection: the connection of @vm
 * @vm: the VM to start, shut down or turn off
 * @step: which of them
 * @cancellable: (nullable): stops waiting
 * @callback: called once done; tsr_gui_lifecycle_finish() tells how it went
 * @user_data: for @callback
 */
void
tsr_gui_lifecycle_async (TsrConnection       *connection,
                         TsrVm               *vm,
                         TsrGuiLifecycle      step,
                         GCancellable        *cancellable,
                         GAsyncReadyCallback  callback,
                         gpointer             user_data)
{
  g_return_if_fail (step < G_N_ELEMENTS (lifecycle_steps));

  lifecycle_steps[step].async (connection, vm, cancellable, callback, user_data);
}

/* The finish of whichever step @result is from, found by its source tag. */
gboolean
tsr_gui_lifecycle_finish (TsrConnection  *connection,
                          GAsyncResult   *result,
                          GError        **error)
{
  for (guint i = 0; i < G_N_ELEMENTS (lifecycle_steps); i++)
    if (g_async_result_is_tagged (result, lifecycle_steps[i].async))
      return lifecycle_steps[i].finish (connection, result, error);

  g_return_val_if_reached (FALSE);
}

/* Properties */

static GQuark
property_accessors_quark (void)
{
  return g_quark_from_static_string ("tsr-gui-property-accessors");
}

static const TsrGuiProperty *
lookup_accessors (GParamSpec *pspec,
                  guint       prop_id)
{
  const TsrGuiProperty *accessors = g_type_get_qdata (pspec->owner_type,
                                                      property_accessors_quark ());

  g_assert (accessors != NULL);
  return &accessors[prop_id];
}

typedef gboolean     (*GetBooleanFunc) (gpointer self);
typedef double       (*GetDoubleFunc)  (gpointer self);
typedef const char * (*GetStringFunc)  (gpointer self);
typedef gpointer     (*GetObjectFunc)  (gpointer self);
typedef void         (*SetBooleanFunc) (gpointer self, gboolean value);
typedef void         (*SetDoubleFunc)  (gpointer self, double value);
typedef void         (*SetStringFunc)  (gpointer self, const char *value);
typedef void         (*SetObjectFunc)  (gpointer self, gpointer value);

static void
tsr_gui_get_property (GObject    *object,
                      guint       prop_id,
                      GValue     *value,
                      GParamSpec *pspec)
{
  GCallback get = lookup_accessors (pspec, prop_id)->get;

  switch (G_TYPE_FUNDAMENTAL (G_PARAM_SPEC_VALUE_TYPE (pspec)))
    {
    case G_TYPE_BOOLEAN:
      g_value_set_boolean (value, ((GetBooleanFunc) get) (object));
      break;

    case G_TYPE_DOUBLE:
      g_value_set_double (value, ((GetDoubleFunc) get) (object));
      break;

    case G_TYPE_STRING:
      g_value_set_string (value, ((GetStringFunc) get) (object));
      break;

    case G_TYPE_OBJECT:
      g_value_set_object (value, ((GetObjectFunc) get) (object));
      break;

    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
tsr_gui_set_property (GObject      *object,
                      guint         prop_id,
                      const GValue *value,
                      GParamSpec   *pspec)
{
  GCallback set = lookup_accessors (pspec, prop_id)->set;

  g_assert (set != NULL);
  switch (G_TYPE_FUNDAMENTAL (G_PARAM_SPEC_VALUE_TYPE (pspec)))
    {
    case G_TYPE_BOOLEAN:
      ((SetBooleanFunc) set) (object, g_value_get_boolean (value));
      break;

    case G_TYPE_DOUBLE:
      ((SetDoubleFunc) set) (object, g_value_get_double (value));
      break;

    case G_TYPE_STRING:
      ((SetStringFunc) set) (object, g_value_get_string (value));
      break;

    case G_TYPE_OBJECT:
      ((SetObjectFunc) set) (object, g_value_get_object (value));
      break;

    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

/**
 * tsr_gui_install_properties:
 * @object_class: the class being initialised
 * @n_pspecs: the length of @pspecs and @accessors
 * @pspecs: as for g_object_class_install_properties()
 * @accessors: (array length=n_pspecs): the getter and setter of each
 *   property, at the index of its #GParamSpec; kept, so static
 *
 * Installs @pspecs and reads and writes them through @accessors, so that
 * each property has one getter and one setter, the public ones, instead of
 * a copy of them in a get_property/set_property switch.
 */
void
tsr_gui_install_properties (GObjectClass         *object_class,
                            guint                 n_pspecs,
                            GParamSpec          **pspecs,
                            const TsrGuiProperty *accessors)
{
  g_return_if_fail (G_IS_OBJECT_CLASS (object_class));
  g_return_if_fail (accessors != NULL);

  g_type_set_qdata (G_OBJECT_CLASS_TYPE (object_class), property_accessors_quark (),
                    (gpointer) accessors);
  object_class->get_property = tsr_gui_get_property;
  object_class->set_property = tsr_gui_set_property;
  g_object_class_install_properties (object_class, n_pspecs, pspecs);
}
