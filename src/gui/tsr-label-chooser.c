/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "config.h"

#include <glib/gi18n.h>

#include "tsr-gui-util.h"
#include "tsr-label-chooser.h"
#include "tsr-vm.h"

/* One round button per Qubes label colour, in the Qubes order; the chosen
 * one shows a check mark. The buttons are a radio group, so the keyboard
 * moves between them as it does between radio buttons.
 */
struct _TsrLabelChooser
{
  GtkWidget  parent_instance;

  GtkWidget *buttons[8];
  char      *label;
};

G_DEFINE_FINAL_TYPE (TsrLabelChooser, tsr_label_chooser, GTK_TYPE_WIDGET)

enum {
  PROP_0,
  PROP_LABEL,
  N_PROPS
};

static GParamSpec *properties[N_PROPS];
static const TsrGuiProperty accessors[N_PROPS] = {
  [PROP_LABEL] = TSR_GUI_PROPERTY (tsr_label_chooser_get_label, tsr_label_chooser_set_label),
};

static const char *
label_title (const char *label)
{
  static const struct {
    const char *label;
    const char *title;
  } titles[] = {
    { "red", N_("Red") }, { "orange", N_("Orange") }, { "yellow", N_("Yellow") },
    { "green", N_("Green") }, { "gray", N_("Gray") }, { "blue", N_("Blue") },
    { "purple", N_("Purple") }, { "black", N_("Black") },
  };

  for (guint i = 0; i < G_N_ELEMENTS (titles); i++)
    if (g_strcmp0 (titles[i].label, label) == 0)
      return _(titles[i].title);
  return label;
}

static void
tsr_label_chooser_button_toggled_cb (TsrLabelChooser *self,
                                     GtkToggleButton *button)
{
  const char *label;

  if (!gtk_toggle_button_get_active (button))
    return;

  label = g_object_get_data (G_OBJECT (button), "tsr-label");
  if (g_strcmp0 (label, self->label) == 0)
    return;

  g_free (self->label);
  self->label = g_strdup (label);
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_LABEL]);
}

static void
tsr_label_chooser_dispose (GObject *object)
{
  TsrLabelChooser *self = TSR_LABEL_CHOOSER (object);
  GtkWidget *child;

  while ((child = gtk_widget_get_first_child (GTK_WIDGET (self))) != NULL)
    gtk_widget_unparent (child);

  G_OBJECT_CLASS (tsr_label_chooser_parent_class)->dispose (object);
}

static void
tsr_label_chooser_finalize (GObject *object)
{
  TsrLabelChooser *self = TSR_LABEL_CHOOSER (object);

  g_free (self->label);

  G_OBJECT_CLASS (tsr_label_chooser_parent_class)->finalize (object);
}

static void
tsr_label_chooser_class_init (TsrLabelChooserClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  GtkWidgetClass *widget_class = GTK_WIDGET_CLASS (klass);

  object_class->dispose = tsr_label_chooser_dispose;
  object_class->finalize = tsr_label_chooser_finalize;

  properties[PROP_LABEL] =
    g_param_spec_string ("label", NULL, NULL,
                         "red",
                         (G_PARAM_READWRITE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS));
  tsr_gui_install_properties (object_class, N_PROPS, properties, accessors);

  gtk_widget_class_set_layout_manager_type (widget_class, GTK_TYPE_BOX_LAYOUT);
  gtk_widget_class_set_css_name (widget_class, "labelchooser");
  gtk_widget_class_set_accessible_role (widget_class, GTK_ACCESSIBLE_ROLE_RADIO_GROUP);
}

static void
tsr_label_chooser_init (TsrLabelChooser *self)
{
  GtkLayoutManager *layout = gtk_widget_get_layout_manager (GTK_WIDGET (self));
  GtkWidget *first = NULL;

  gtk_box_layout_set_spacing (GTK_BOX_LAYOUT (layout), 6);
  gtk_widget_set_valign (GTK_WIDGET (self), GTK_ALIGN_CENTER);

  for (guint i = 0; i < G_N_ELEMENTS (self->buttons) && tsr_vm_labels[i] != NULL; i++)
    {
      GtkWidget *button = gtk_toggle_button_new ();
      GtkWidget *check = gtk_image_new_from_icon_name ("object-select-symbolic");

      gtk_widget_set_parent (button, GTK_WIDGET (self));
      gtk_button_set_child (GTK_BUTTON (button), check);
      gtk_widget_add_css_class (button, "label-choice");
      gtk_widget_add_css_class (button, tsr_vm_labels[i]);
      gtk_widget_set_valign (button, GTK_ALIGN_CENTER);
      gtk_widget_set_tooltip_text (button, label_title (tsr_vm_labels[i]));
      gtk_accessible_update_property (GTK_ACCESSIBLE (button),
                                      GTK_ACCESSIBLE_PROPERTY_LABEL, label_title (tsr_vm_labels[i]),
                                      -1);
      g_object_set_data (G_OBJECT (button), "tsr-label", (gpointer) tsr_vm_labels[i]);
      if (first != NULL)
        gtk_toggle_button_set_group (GTK_TOGGLE_BUTTON (button), GTK_TOGGLE_BUTTON (first));
      else
        first = button;
      g_signal_connect_object (button, "toggled",
                               G_CALLBACK (tsr_label_chooser_button_toggled_cb),
                               self, G_CONNECT_SWAPPED);
      self->buttons[i] = button;
    }

  tsr_label_chooser_set_label (self, "red");
}

GtkWidget *
tsr_label_chooser_new (void)
{
  return g_object_new (TSR_TYPE_LABEL_CHOOSER, NULL);
}

const char *
tsr_label_chooser_get_label (TsrLabelChooser *self)
{
  g_return_val_if_fail (TSR_IS_LABEL_CHOOSER (self), NULL);

  return self->label;
}

/**
 * tsr_label_chooser_get_button:
 * @self: a #TsrLabelChooser
 * @label: a label colour such as "green"
 *
 * Returns: (transfer none) (nullable): the button that chooses @label
 */
GtkWidget *
tsr_label_chooser_get_button (TsrLabelChooser *self,
                              const char      *label)
{
  g_return_val_if_fail (TSR_IS_LABEL_CHOOSER (self), NULL);

  for (guint i = 0; i < G_N_ELEMENTS (self->buttons); i++)
    if (self->buttons[i] != NULL &&
        g_strcmp0 (g_object_get_data (G_OBJECT (self->buttons[i]), "tsr-label"), label) == 0)
      return self->buttons[i];
  return NULL;
}

/* An unknown label (a VM made elsewhere) leaves no button pressed. */
void
tsr_label_chooser_set_label (TsrLabelChooser *self,
                             const char      *label)
{
  GtkWidget *button;

  g_return_if_fail (TSR_IS_LABEL_CHOOSER (self));

  if (g_strcmp0 (label, self->label) == 0)
    return;

  button = tsr_label_chooser_get_button (self, label);
  if (button != NULL)
    gtk_toggle_button_set_active (GTK_TOGGLE_BUTTON (button), TRUE);
  else
    for (guint i = 0; i < G_N_ELEMENTS (self->buttons); i++)
      if (self->buttons[i] != NULL)
        gtk_toggle_button_set_active (GTK_TOGGLE_BUTTON (self->buttons[i]), FALSE);

  /* The toggled handler may have set it already. */
  if (g_strcmp0 (label, self->label) != 0)
    {
      g_free (self->label);
      self->label = g_strdup (label);
      g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_LABEL]);
    }
}
