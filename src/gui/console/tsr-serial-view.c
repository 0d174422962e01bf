/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "config.h"

#include <adwaita.h>
#include <glib/gi18n.h>

#include "tsr-serial-view.h"

/* VteTerminal without a pty: the guest's bytes are fed to it, and what it
 * would have written to its child ("commit") goes to the serial console.
 * The terminal's own key handling sends Ctrl+Shift+C to the guest, so the
 * copy and paste shortcuts are caught in the capture phase, before it.
 */

#define SCROLLBACK_LINES 10000

struct _TsrSerialView
{
  GtkWidget       parent_instance;

  GtkWidget      *scrolled;
  VteTerminal    *terminal;
  GtkWidget      *context_menu;
  TsrSerial      *serial;
  AdwStyleManager *style_manager;
};

enum {
  PROP_0,
  PROP_SERIAL,
  N_PROPS
};

static GParamSpec *properties[N_PROPS];

G_DEFINE_FINAL_TYPE (TsrSerialView, tsr_serial_view, GTK_TYPE_WIDGET)

/* Colours */

static void
tsr_serial_view_update_colors (TsrSerialView *self)
{
  /* libadwaita's window colours, so that the terminal reads as part of the
   * window in both styles.
   */
  static const GdkRGBA light_fg = { 0.0, 0.0, 0.0, 0.8 };
  static const GdkRGBA light_bg = { 0.98, 0.98, 0.98, 1.0 };
  static const GdkRGBA dark_fg = { 1.0, 1.0, 1.0, 0.9 };
  static const GdkRGBA dark_bg = { 0.14, 0.14, 0.14, 1.0 };
  gboolean dark = adw_style_manager_get_dark (self->style_manager);

  vte_terminal_set_colors (self->terminal, dark ? &dark_fg : &light_fg,
                           dark ? &dark_bg : &light_bg, NULL, 0);
}

static void
tsr_serial_view_dark_changed_cb (TsrSerialView *self)
{
  tsr_serial_view_update_colors (self);
}

/* The serial console */

static void
tsr_serial_view_received_cb (TsrSerialView *self,
                             GBytes        *data)
{
  gsize len;
  const char *bytes = g_bytes_get_data (data, &len);

  vte_terminal_feed (self->terminal, bytes, len);
}

static void
tsr_serial_view_closed_cb (TsrSerialView *self,
                           const GError  *error)
{
  g_autofree char *line = NULL;

  /* Whatever is on screen stays, to be read and copied. */
  if (error != NULL)
    line = g_strdup_printf ("\r\n[%s: %s]\r\n", _("The serial console closed"), error->message);
  else
    line = g_strdup_printf ("\r\n[%s]\r\n", _("The serial console closed"));
  vte_terminal_feed (self->terminal, line, -1);
  vte_terminal_set_input_enabled (self->terminal, FALSE);
  gtk_widget_action_set_enabled (GTK_WIDGET (self), "serial.paste", FALSE);
}

static void
tsr_serial_view_commit_cb (TsrSerialView *self,
                           const char    *text,
                           guint          size)
{
  if (self->serial != NULL)
    tsr_serial_write (self->serial, text, size);
}

static void
tsr_serial_view_selection_changed_cb (TsrSerialView *self)
{
  gtk_widget_action_set_enabled (GTK_WIDGET (self), "serial.copy",
                                 vte_terminal_get_has_selection (self->terminal));
}

void
tsr_serial_view_attach (TsrSerialView *self,
                        TsrSerial     *serial)
{
  gboolean open;

  g_return_if_fail (TSR_IS_SERIAL_VIEW (self));
  g_return_if_fail (serial == NULL || TSR_IS_SERIAL (serial));

  if (self->serial == serial)
    return;

  if (self->serial != NULL)
    g_signal_handlers_disconnect_by_data (self->serial, self);
  g_set_object (&self->serial, serial);

  if (serial != NULL)
    {
      g_signal_connect_object (serial, "received", G_CALLBACK (tsr_serial_view_received_cb),
                               self, G_CONNECT_SWAPPED);
      g_signal_connect_object (serial, "closed", G_CALLBACK (tsr_serial_view_closed_cb), self,
                               G_CONNECT_SWAPPED);
    }

  open = serial != NULL && tsr_serial_get_open (serial);
  vte_terminal_set_input_enabled (self->terminal, open);
  gtk_widget_action_set_enabled (GTK_WIDGET (self), "serial.paste", open);

  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_SERIAL]);
}

TsrSerial *
tsr_serial_view_get_serial (TsrSerialView *self)
{
  g_return_val_if_fail (TSR_IS_SERIAL_VIEW (self), NULL);

  return self->serial;
}

VteTerminal *
tsr_serial_view_get_terminal (TsrSerialView *self)
{
  g_return_val_if_fail (TSR_IS_SERIAL_VIEW (self), NULL);

  return self->terminal;
}

/* Copy, paste and the menu */

static void
tsr_serial_view_copy_action (GtkWidget  *widget,
                             const char *action_name,
                             GVariant   *parameter)
{
  TsrSerialView *self = TSR_SERIAL_VIEW (widget);

  vte_terminal_copy_clipboard_format (self->terminal, VTE_FORMAT_TEXT);
}

static void
tsr_serial_view_paste_action (GtkWidget  *widget,
                              const char *action_name,
                              GVariant   *parameter)
{
  TsrSerialView *self = TSR_SERIAL_VIEW (widget);

  /* Arrives as "commit", like typed text. */
  vte_terminal_paste_clipboard (self->terminal);
}

static void
tsr_serial_view_pressed_cb (GtkGestureClick *gesture,
                            int              n_press,
                            double           x,
                            double           y,
                            TsrSerialView   *self)
{
  GdkRectangle at = { (int) x, (int) y, 1, 1 };
  graphene_point_t point;

  if (!gtk_widget_compute_point (GTK_WIDGET (self->terminal), GTK_WIDGET (self),
                                 &GRAPHENE_POINT_INIT (x, y), &point))
    return;
  at.x = (int) point.x;
  at.y = (int) point.y;
  gtk_popover_set_pointing_to (GTK_POPOVER (self->context_menu), &at);
  gtk_popover_popup (GTK_POPOVER (self->context_menu));
  gtk_gesture_set_state (GTK_GESTURE (gesture), GTK_EVENT_SEQUENCE_CLAIMED);
}

static void
tsr_serial_view_add_shortcuts (TsrSerialView *self)
{
  GtkEventController *shortcuts = gtk_shortcut_controller_new ();
  GtkGesture *click = gtk_gesture_click_new ();
  g_autoptr(GMenu) menu = g_menu_new ();

  gtk_event_controller_set_propagation_phase (shortcuts, GTK_PHASE_CAPTURE);
  gtk_shortcut_controller_add_shortcut (
    GTK_SHORTCUT_CONTROLLER (shortcuts),
    gtk_shortcut_new (gtk_keyval_trigger_new (GDK_KEY_c, GDK_CONTROL_MASK | GDK_SHIFT_MASK),
                      gtk_named_action_new ("serial.copy")));
  gtk_shortcut_controller_add_shortcut (
    GTK_SHORTCUT_CONTROLLER (shortcuts),
    gtk_shortcut_new (gtk_keyval_trigger_new (GDK_KEY_v, GDK_CONTROL_MASK | GDK_SHIFT_MASK),
                      gtk_named_action_new ("serial.paste")));
  gtk_widget_add_controller (GTK_WIDGET (self), shortcuts);

  g_menu_append (menu, _("_Copy"), "serial.copy");
  g_menu_append (menu, _("_Paste"), "serial.paste");
  self->context_menu = gtk_popover_menu_new_from_model (G_MENU_MODEL (menu));
  gtk_popover_set_has_arrow (GTK_POPOVER (self->context_menu), FALSE);
  gtk_widget_set_halign (self->context_menu, GTK_ALIGN_START);
  gtk_widget_set_parent (self->context_menu, GTK_WIDGET (self));

  gtk_gesture_single_set_button (GTK_GESTURE_SINGLE (click), GDK_BUTTON_SECONDARY);
  gtk_event_controller_set_propagation_phase (GTK_EVENT_CONTROLLER (click), GTK_PHASE_CAPTURE);
  g_signal_connect_object (click, "pressed", G_CALLBACK (tsr_serial_view_pressed_cb), self, 0);
  gtk_widget_add_controller (GTK_WIDGET (self->terminal), GTK_EVENT_CONTROLLER (click));
}

/* The widget */

static void
tsr_serial_view_dispose (GObject *object)
{
  TsrSerialView *self = TSR_SERIAL_VIEW (object);

  tsr_serial_view_attach (self, NULL);
  g_clear_pointer (&self->scrolled, gtk_widget_unparent);
  g_clear_pointer (&self->context_menu, gtk_widget_unparent);
  self->terminal = NULL;

  G_OBJECT_CLASS (tsr_serial_view_parent_class)->dispose (object);
}

static void
tsr_serial_view_get_property (GObject    *object,
                              guint       prop_id,
                              GValue     *value,
                              GParamSpec *pspec)
{
  TsrSerialView *self = TSR_SERIAL_VIEW (object);

  switch (prop_id)
    {
    case PROP_SERIAL:
      g_value_set_object (value, self->serial);
      break;

    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
tsr_serial_view_set_property (GObject      *object,
                              guint         prop_id,
                              const GValue *value,
                              GParamSpec   *pspec)
{
  TsrSerialView *self = TSR_SERIAL_VIEW (object);

  switch (prop_id)
    {
    case PROP_SERIAL:
      tsr_serial_view_attach (self, g_value_get_object (value));
      break;

    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static gboolean
tsr_serial_view_grab_focus (GtkWidget *widget)
{
  TsrSerialView *self = TSR_SERIAL_VIEW (widget);

  return gtk_widget_grab_focus (GTK_WIDGET (self->terminal));
}

static void
tsr_serial_view_class_init (TsrSerialViewClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  GtkWidgetClass *widget_class = GTK_WIDGET_CLASS (klass);

  object_class->dispose = tsr_serial_view_dispose;
  object_class->get_property = tsr_serial_view_get_property;
  object_class->set_property = tsr_serial_view_set_property;
  widget_class->grab_focus = tsr_serial_view_grab_focus;

  properties[PROP_SERIAL] =
    g_param_spec_object ("serial", NULL, NULL, TSR_TYPE_SERIAL,
                         G_PARAM_READWRITE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);
  g_object_class_install_properties (object_class, N_PROPS, properties);

  gtk_widget_class_install_action (widget_class, "serial.copy", NULL,
                                   tsr_serial_view_copy_action);
  gtk_widget_class_install_action (widget_class, "serial.paste", NULL,
                                   tsr_serial_view_paste_action);

  gtk_widget_class_set_layout_manager_type (widget_class, GTK_TYPE_BIN_LAYOUT);
  gtk_widget_class_set_css_name (widget_class, "serialview");
}

/* Room between the text and the window's edges, in the terminal's own
 * background colour: VTE draws its padding.
 */
static void
tsr_serial_view_add_padding (GtkWidget *terminal)
{
  static GtkCssProvider *provider = NULL;

  if (provider == NULL)
    {
      provider = gtk_css_provider_new ();
      gtk_css_provider_load_from_data (provider, ".tsr-serial { padding: 6px 8px; }",
                                       -1);
    }
  gtk_style_context_add_provider_for_display (gtk_widget_get_display (terminal),
                                              GTK_STYLE_PROVIDER (provider),
                                              GTK_STYLE_PROVIDER_PRIORITY_APPLICATION);
  gtk_widget_add_css_class (terminal, "tsr-serial");
}

static void
tsr_serial_view_init (TsrSerialView *self)
{
  g_autoptr(PangoFontDescription) font = pango_font_description_from_string ("Monospace 11");

  self->terminal = VTE_TERMINAL (vte_terminal_new ());
  vte_terminal_set_scrollback_lines (self->terminal, SCROLLBACK_LINES);
  vte_terminal_set_font (self->terminal, font);
  vte_terminal_set_mouse_autohide (self->terminal, TRUE);
  vte_terminal_set_input_enabled (self->terminal, FALSE);
  tsr_serial_view_add_padding (GTK_WIDGET (self->terminal));
  gtk_widget_set_hexpand (GTK_WIDGET (self->terminal), TRUE);
  gtk_widget_set_vexpand (GTK_WIDGET (self->terminal), TRUE);
  g_signal_connect_object (self->terminal, "commit", G_CALLBACK (tsr_serial_view_commit_cb),
                           self, G_CONNECT_SWAPPED);
  g_signal_connect_object (self->terminal, "selection-changed",
                           G_CALLBACK (tsr_serial_view_selection_changed_cb), self,
                           G_CONNECT_SWAPPED);

  self->scrolled = gtk_scrolled_window_new ();
  gtk_scrolled_window_set_policy (GTK_SCROLLED_WINDOW (self->scrolled), GTK_POLICY_NEVER,
                                  GTK_POLICY_AUTOMATIC);
  gtk_scrolled_window_set_child (GTK_SCROLLED_WINDOW (self->scrolled),
                                 GTK_WIDGET (self->terminal));
  gtk_widget_set_parent (self->scrolled, GTK_WIDGET (self));

  self->style_manager = adw_style_manager_get_default ();
  g_signal_connect_object (self->style_manager, "notify::dark",
                           G_CALLBACK (tsr_serial_view_dark_changed_cb), self,
                           G_CONNECT_SWAPPED);
  tsr_serial_view_update_colors (self);

  tsr_serial_view_add_shortcuts (self);
  gtk_widget_action_set_enabled (GTK_WIDGET (self), "serial.copy", FALSE);
  gtk_widget_action_set_enabled (GTK_WIDGET (self), "serial.paste", FALSE);
}

GtkWidget *
tsr_serial_view_new (void)
{
  return g_object_new (TSR_TYPE_SERIAL_VIEW, NULL);
}
