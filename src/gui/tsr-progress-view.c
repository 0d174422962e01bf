/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "config.h"

#include "tsr-gui-util.h"
#include "tsr-progress-view.h"

/* The progress of a TsrOperation: a bar that fills with the bytes, or
 * pulses while the stage has no size, the stage, and the bytes done with
 * the time left. The clone and import dialogs and the main window's list of
 * operations show it the same way.
 */

#define PULSE_MS 120

struct _TsrProgressView
{
  GtkWidget       parent_instance;

  GtkProgressBar *progress_bar;
  GtkLabel       *stage_label;
  GtkLabel       *detail_label;

  TsrOperation   *operation;
  gulong          notify_id;
  guint           pulse_source;
  gboolean        centered;
};

G_DEFINE_FINAL_TYPE (TsrProgressView, tsr_progress_view, GTK_TYPE_WIDGET)

enum {
  PROP_0,
  PROP_OPERATION,
  PROP_CENTERED,
  N_PROPS
};

static GParamSpec *properties[N_PROPS];
static const TsrGuiProperty accessors[N_PROPS] = {
  [PROP_OPERATION] = TSR_GUI_PROPERTY (tsr_progress_view_get_operation,
                                       tsr_progress_view_set_operation),
  [PROP_CENTERED] = TSR_GUI_PROPERTY (tsr_progress_view_get_centered,
                                      tsr_progress_view_set_centered),
};

static gboolean
pulse_cb (gpointer user_data)
{
  TsrProgressView *self = user_data;

  gtk_progress_bar_pulse (self->progress_bar);
  return G_SOURCE_CONTINUE;
}

static void
update_pulse (TsrProgressView *self)
{
  gboolean pulse = self->operation != NULL &&
                   gtk_widget_get_mapped (GTK_WIDGET (self)) &&
                   !tsr_operation_get_finished (self->operation) &&
                   tsr_operation_get_fraction (self->operation) < 0;

  if (pulse && self->pulse_source == 0)
    {
      gtk_progress_bar_pulse (self->progress_bar);
      self->pulse_source = g_timeout_add (PULSE_MS, pulse_cb, self);
    }
  else if (!pulse)
    g_clear_handle_id (&self->pulse_source, g_source_remove);
}

static void
sync_view (TsrProgressView *self)
{
  const char *stage = NULL;
  const char *detail = NULL;
  double fraction = 0;

  if (self->operation != NULL)
    {
      stage = tsr_operation_get_stage (self->operation);
      detail = tsr_operation_get_detail (self->operation);
      fraction = tsr_operation_get_fraction (self->operation);
    }

  gtk_label_set_text (self->stage_label, stage ? stage : "");
  gtk_label_set_text (self->detail_label, detail ? detail : "");
  gtk_widget_set_visible (GTK_WIDGET (self->detail_label), detail != NULL);
  if (fraction >= 0)
    gtk_progress_bar_set_fraction (self->progress_bar, fraction);

  update_pulse (self);
}

static void
tsr_progress_view_operation_notify_cb (TsrProgressView *self,
                                       GParamSpec      *pspec,
                                       TsrOperation    *operation)
{
  sync_view (self);
}

/* GtkWidget */

static void
tsr_progress_view_map (GtkWidget *widget)
{
  GTK_WIDGET_CLASS (tsr_progress_view_parent_class)->map (widget);
  update_pulse (TSR_PROGRESS_VIEW (widget));
}

static void
tsr_progress_view_unmap (GtkWidget *widget)
{
  GTK_WIDGET_CLASS (tsr_progress_view_parent_class)->unmap (widget);
  update_pulse (TSR_PROGRESS_VIEW (widget));
}

/* GObject */

static void
tsr_progress_view_dispose (GObject *object)
{
  TsrProgressView *self = TSR_PROGRESS_VIEW (object);

  tsr_progress_view_set_operation (self, NULL);
  g_clear_handle_id (&self->pulse_source, g_source_remove);
  gtk_widget_dispose_template (GTK_WIDGET (self), TSR_TYPE_PROGRESS_VIEW);

  G_OBJECT_CLASS (tsr_progress_view_parent_class)->dispose (object);
}

static void
tsr_progress_view_class_init (TsrProgressViewClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  GtkWidgetClass *widget_class = GTK_WIDGET_CLASS (klass);

  object_class->dispose = tsr_progress_view_dispose;

  widget_class->map = tsr_progress_view_map;
  widget_class->unmap = tsr_progress_view_unmap;

  properties[PROP_OPERATION] =
    g_param_spec_object ("operation", NULL, NULL,
                         TSR_TYPE_OPERATION,
                         (G_PARAM_READWRITE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS));
  properties[PROP_CENTERED] =
    g_param_spec_boolean ("centered", NULL, NULL,
                          FALSE,
                          (G_PARAM_READWRITE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS));

  tsr_gui_install_properties (object_class, N_PROPS, properties, accessors);

  gtk_widget_class_set_template_from_resource (widget_class,
                                               "/org/tessera/Tessera/tsr-progress-view.ui");
  gtk_widget_class_bind_template_child (widget_class, TsrProgressView, progress_bar);
  gtk_widget_class_bind_template_child (widget_class, TsrProgressView, stage_label);
  gtk_widget_class_bind_template_child (widget_class, TsrProgressView, detail_label);

  gtk_widget_class_set_layout_manager_type (widget_class, GTK_TYPE_BOX_LAYOUT);
  gtk_widget_class_set_accessible_role (widget_class, GTK_ACCESSIBLE_ROLE_GROUP);
}

static void
tsr_progress_view_init (TsrProgressView *self)
{
  GtkLayoutManager *layout;

  gtk_widget_init_template (GTK_WIDGET (self));

  layout = gtk_widget_get_layout_manager (GTK_WIDGET (self));
  gtk_orientable_set_orientation (GTK_ORIENTABLE (layout), GTK_ORIENTATION_VERTICAL);
  gtk_box_layout_set_spacing (GTK_BOX_LAYOUT (layout), 4);
}

GtkWidget *
tsr_progress_view_new (void)
{
  return g_object_new (TSR_TYPE_PROGRESS_VIEW, NULL);
}

TsrOperation *
tsr_progress_view_get_operation (TsrProgressView *self)
{
  g_return_val_if_fail (TSR_IS_PROGRESS_VIEW (self), NULL);

  return self->operation;
}

void
tsr_progress_view_set_operation (TsrProgressView *self,
                                 TsrOperation    *operation)
{
  g_return_if_fail (TSR_IS_PROGRESS_VIEW (self));
  g_return_if_fail (!operation || TSR_IS_OPERATION (operation));

  if (self->operation == operation)
    return;

  if (self->operation != NULL)
    g_clear_signal_handler (&self->notify_id, self->operation);
  g_set_object (&self->operation, operation);
  if (operation != NULL)
    self->notify_id = g_signal_connect_object (operation, "notify",
                                               G_CALLBACK (tsr_progress_view_operation_notify_cb),
                                               self, G_CONNECT_SWAPPED);

  gtk_progress_bar_set_fraction (self->progress_bar, 0);
  sync_view (self);
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_OPERATION]);
}

gboolean
tsr_progress_view_get_centered (TsrProgressView *self)
{
  g_return_val_if_fail (TSR_IS_PROGRESS_VIEW (self), FALSE);

  return self->centered;
}

/* Centred under a status page's title, or aligned to the start in a list. */
void
tsr_progress_view_set_centered (TsrProgressView *self,
                                gboolean         centered)
{
  GtkLabel *labels[2];

  g_return_if_fail (TSR_IS_PROGRESS_VIEW (self));

  centered = !!centered;
  if (self->centered == centered)
    return;

  self->centered = centered;
  labels[0] = self->stage_label;
  labels[1] = self->detail_label;
  for (guint i = 0; i < G_N_ELEMENTS (labels); i++)
    {
      gtk_label_set_xalign (labels[i], centered ? 0.5 : 0);
      gtk_label_set_justify (labels[i], centered ? GTK_JUSTIFY_CENTER : GTK_JUSTIFY_LEFT);
    }
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_CENTERED]);
}
