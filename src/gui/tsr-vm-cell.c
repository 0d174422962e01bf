/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "config.h"

#include <string.h>
#include <glib/gi18n.h>

#include "tsr-vm-cell.h"

/* What one cell of the VM list shows: the text the core gives for a field,
 * a dim dash when the value is unknown, and for the label and state fields
 * a small coloured mark in front of the text.
 */
struct _TsrVmCell
{
  GtkWidget  parent_instance;

  TsrVm     *vm;
  char      *field;

  GtkWidget *mark;
  GtkWidget *label;
  char      *mark_class;
  gboolean   monospace;
};

G_DEFINE_FINAL_TYPE (TsrVmCell, tsr_vm_cell, GTK_TYPE_WIDGET)

enum {
  PROP_0,
  PROP_VM,
  PROP_FIELD,
  N_PROPS
};

static GParamSpec *properties[N_PROPS];

typedef struct
{
  const char *field;
  const char *copy_label;
  gboolean    monospace;
} FieldInfo;

static const FieldInfo fields[] = {
  { "label",     N_("Copy Label"),       FALSE },
  { "name",      N_("Copy Name"),        FALSE },
  { "state",     N_("Copy State"),       FALSE },
  { "class",     N_("Copy Class"),       FALSE },
  { "virt-mode", N_("Copy Virt Mode"),   FALSE },
  { "network",   N_("Copy Network"),     FALSE },
  { "ip",        N_("Copy IP Address"),  TRUE },
  { "netmask",   N_("Copy Netmask"),     TRUE },
  { "gateway",   N_("Copy Gateway"),     TRUE },
  { "mac",       N_("Copy MAC Address"), TRUE },
};

static const FieldInfo *
find_field (const char *field)
{
  if (field == NULL)
    return NULL;

  for (guint i = 0; i < G_N_ELEMENTS (fields); i++)
    if (strcmp (fields[i].field, field) == 0)
      return &fields[i];

  return NULL;
}

gboolean
tsr_vm_field_is_valid (const char *field)
{
  return find_field (field) != NULL;
}

/**
 * tsr_vm_field_get_copy_label:
 * @field: a field id such as "ip"
 *
 * Returns: the translated menu label that copies @field, e.g. "Copy IP Address"
 */
const char *
tsr_vm_field_get_copy_label (const char *field)
{
  const FieldInfo *info = find_field (field);

  g_return_val_if_fail (info != NULL, NULL);

  return g_dgettext (GETTEXT_PACKAGE, info->copy_label);
}

/**
 * tsr_vm_dup_field_value:
 * @vm: a #TsrVm
 * @field: a field id such as "ip"
 *
 * Returns: (nullable): the value of @field as it is copied to the clipboard,
 *   or %NULL when the VM has no such value (no address, no network)
 */
char *
tsr_vm_dup_field_value (TsrVm      *vm,
                        const char *field)
{
  g_autofree char *text = NULL;

  g_return_val_if_fail (TSR_IS_VM (vm), NULL);
  g_return_val_if_fail (field != NULL, NULL);

  text = tsr_vm_dup_field_text (vm, field);
  if (text == NULL || *text == '\0' || strcmp (text, "-") == 0)
    return NULL;
  /* "none" is how the core spells "no network"; there is nothing to copy. */
  if (strcmp (field, "network") == 0 && strcmp (text, "none") == 0)
    return NULL;

  return g_steal_pointer (&text);
}

static const char *
state_class (TsrVmState state)
{
  switch (state)
    {
    case TSR_VM_STATE_RUNNING: return "running";
    case TSR_VM_STATE_PAUSED: return "paused";
    case TSR_VM_STATE_SHUTTING_DOWN: return "shutting-down";
    case TSR_VM_STATE_SHUTOFF: return "shutoff";
    case TSR_VM_STATE_CRASHED: return "crashed";
    case TSR_VM_STATE_SUSPENDED: return "suspended";
    case TSR_VM_STATE_UNKNOWN:
    default: return "unknown";
    }
}

static void
set_mark_class (TsrVmCell  *self,
                const char *css_class)
{
  if (g_strcmp0 (self->mark_class, css_class) == 0)
    return;

  if (self->mark_class != NULL)
    gtk_widget_remove_css_class (self->mark, self->mark_class);
  g_free (self->mark_class);
  self->mark_class = g_strdup (css_class);
  if (css_class != NULL)
    gtk_widget_add_css_class (self->mark, css_class);
}

static void
tsr_vm_cell_update (TsrVmCell *self)
{
  g_autofree char *value = NULL;
  gboolean is_label;
  gboolean is_state;

  if (self->vm == NULL || self->field == NULL)
    {
      gtk_label_set_text (GTK_LABEL (self->label), "");
      gtk_widget_set_visible (self->mark, FALSE);
      gtk_widget_set_tooltip_text (GTK_WIDGET (self), NULL);
      return;
    }

  is_label = strcmp (self->field, "label") == 0;
  is_state = strcmp (self->field, "state") == 0;
  value = tsr_vm_dup_field_value (self->vm, self->field);

  /* The dash of an unknown value is the same in every column, so it is not
   * set in the monospace font of the address columns.
   */
  if (value == NULL)
    {
      gtk_label_set_text (GTK_LABEL (self->label), "—");
      gtk_widget_add_css_class (self->label, "dim-label");
      gtk_widget_remove_css_class (self->label, "monospace");
    }
  else
    {
      if (g_strcmp0 (gtk_label_get_text (GTK_LABEL (self->label)), value) != 0)
        gtk_label_set_text (GTK_LABEL (self->label), value);
      gtk_widget_remove_css_class (self->label, "dim-label");
      if (self->monospace)
        gtk_widget_add_css_class (self->label, "monospace");
    }

  if (is_label)
    set_mark_class (self, tsr_vm_get_label (self->vm));
  else if (is_state)
    set_mark_class (self, state_class (tsr_vm_get_state (self->vm)));
  gtk_widget_set_visible (self->mark, is_label || is_state);

  /* A halted VM's state reads quieter than a running one's. */
  if (is_state)
    {
      if (tsr_vm_is_active (self->vm))
        gtk_widget_remove_css_class (self->label, "dim-label");
      else
        gtk_widget_add_css_class (self->label, "dim-label");
    }

  /* Long names are ellipsized; the tooltip shows them whole. */
  if (strcmp (self->field, "name") == 0)
    gtk_widget_set_tooltip_text (GTK_WIDGET (self), value);
  else if (strcmp (self->field, "network") == 0 && value == NULL)
    gtk_widget_set_tooltip_text (GTK_WIDGET (self), _("Not connected to a network"));
  else
    gtk_widget_set_tooltip_text (GTK_WIDGET (self), NULL);
}

static void
tsr_vm_cell_vm_notify_cb (TsrVmCell  *self,
                          GParamSpec *pspec,
                          TsrVm      *vm)
{
  g_assert (TSR_IS_VM_CELL (self));

  tsr_vm_cell_update (self);
}

static void
tsr_vm_cell_dispose (GObject *object)
{
  TsrVmCell *self = (TsrVmCell *) object;

  tsr_vm_cell_set_vm (self, NULL);
  g_clear_pointer (&self->mark, gtk_widget_unparent);
  g_clear_pointer (&self->label, gtk_widget_unparent);

  G_OBJECT_CLASS (tsr_vm_cell_parent_class)->dispose (object);
}

static void
tsr_vm_cell_finalize (GObject *object)
{
  TsrVmCell *self = (TsrVmCell *) object;

  g_clear_pointer (&self->field, g_free);
  g_clear_pointer (&self->mark_class, g_free);

  G_OBJECT_CLASS (tsr_vm_cell_parent_class)->finalize (object);
}

static void
tsr_vm_cell_get_property (GObject    *object,
                          guint       prop_id,
                          GValue     *value,
                          GParamSpec *pspec)
{
  TsrVmCell *self = TSR_VM_CELL (object);

  switch (prop_id)
    {
    case PROP_VM:
      g_value_set_object (value, self->vm);
      break;

    case PROP_FIELD:
      g_value_set_string (value, self->field);
      break;

    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
tsr_vm_cell_set_property (GObject      *object,
                          guint         prop_id,
                          const GValue *value,
                          GParamSpec   *pspec)
{
  TsrVmCell *self = TSR_VM_CELL (object);

  switch (prop_id)
    {
    case PROP_VM:
      tsr_vm_cell_set_vm (self, g_value_get_object (value));
      break;

    case PROP_FIELD:
      tsr_vm_cell_set_field (self, g_value_get_string (value));
      break;

    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
tsr_vm_cell_class_init (TsrVmCellClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  GtkWidgetClass *widget_class = GTK_WIDGET_CLASS (klass);

  object_class->dispose = tsr_vm_cell_dispose;
  object_class->finalize = tsr_vm_cell_finalize;
  object_class->get_property = tsr_vm_cell_get_property;
  object_class->set_property = tsr_vm_cell_set_property;

  properties[PROP_VM] =
    g_param_spec_object ("vm", NULL, NULL,
                         TSR_TYPE_VM,
                         (G_PARAM_READWRITE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS));

  properties[PROP_FIELD] =
    g_param_spec_string ("field", NULL, NULL,
                         NULL,
                         (G_PARAM_READWRITE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS));

  g_object_class_install_properties (object_class, N_PROPS, properties);

  gtk_widget_class_set_layout_manager_type (widget_class, GTK_TYPE_BOX_LAYOUT);
  gtk_widget_class_set_css_name (widget_class, "tsrvmcell");
}

static void
tsr_vm_cell_init (TsrVmCell *self)
{
  GtkLayoutManager *layout = gtk_widget_get_layout_manager (GTK_WIDGET (self));

  gtk_box_layout_set_spacing (GTK_BOX_LAYOUT (layout), 8);

  self->mark = gtk_box_new (GTK_ORIENTATION_HORIZONTAL, 0);
  gtk_widget_set_valign (self->mark, GTK_ALIGN_CENTER);
  gtk_widget_set_visible (self->mark, FALSE);
  gtk_widget_set_parent (self->mark, GTK_WIDGET (self));

  self->label = g_object_new (GTK_TYPE_LABEL,
                              "xalign", 0.0f,
                              "ellipsize", PANGO_ELLIPSIZE_END,
                              "single-line-mode", TRUE,
                              "hexpand", TRUE,
                              NULL);
  gtk_widget_set_parent (self->label, GTK_WIDGET (self));
}

GtkWidget *
tsr_vm_cell_new (const char *field)
{
  return g_object_new (TSR_TYPE_VM_CELL, "field", field, NULL);
}

TsrVm *
tsr_vm_cell_get_vm (TsrVmCell *self)
{
  g_return_val_if_fail (TSR_IS_VM_CELL (self), NULL);

  return self->vm;
}

void
tsr_vm_cell_set_vm (TsrVmCell *self,
                    TsrVm     *vm)
{
  g_return_if_fail (TSR_IS_VM_CELL (self));
  g_return_if_fail (vm == NULL || TSR_IS_VM (vm));

  if (self->vm == vm)
    return;

  if (self->vm != NULL)
    g_signal_handlers_disconnect_by_func (self->vm, tsr_vm_cell_vm_notify_cb, self);

  g_set_object (&self->vm, vm);

  if (vm != NULL)
    g_signal_connect_object (vm, "notify",
                             G_CALLBACK (tsr_vm_cell_vm_notify_cb),
                             self,
                             G_CONNECT_SWAPPED);

  tsr_vm_cell_update (self);
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_VM]);
}

const char *
tsr_vm_cell_get_field (TsrVmCell *self)
{
  g_return_val_if_fail (TSR_IS_VM_CELL (self), NULL);

  return self->field;
}

void
tsr_vm_cell_set_field (TsrVmCell  *self,
                       const char *field)
{
  const FieldInfo *info;

  g_return_if_fail (TSR_IS_VM_CELL (self));
  g_return_if_fail (field == NULL || tsr_vm_field_is_valid (field));

  if (g_strcmp0 (self->field, field) == 0)
    return;

  if (self->field != NULL)
    gtk_widget_remove_css_class (GTK_WIDGET (self), self->field);
  g_free (self->field);
  self->field = g_strdup (field);

  info = find_field (field);
  if (info != NULL)
    gtk_widget_add_css_class (GTK_WIDGET (self), field);
  self->monospace = info != NULL && info->monospace;
  if (!self->monospace)
    gtk_widget_remove_css_class (self->label, "monospace");

  gtk_widget_remove_css_class (self->mark, "vm-label");
  gtk_widget_remove_css_class (self->mark, "vm-state-mark");
  set_mark_class (self, NULL);
  if (g_strcmp0 (field, "label") == 0)
    gtk_widget_add_css_class (self->mark, "vm-label");
  else if (g_strcmp0 (field, "state") == 0)
    gtk_widget_add_css_class (self->mark, "vm-state-mark");

  tsr_vm_cell_update (self);
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_FIELD]);
}

/**
 * tsr_vm_cell_get_text:
 * @self: a #TsrVmCell
 *
 * Returns: the text the cell shows, "—" for an unknown value
 */
const char *
tsr_vm_cell_get_text (TsrVmCell *self)
{
  g_return_val_if_fail (TSR_IS_VM_CELL (self), NULL);

  return gtk_label_get_text (GTK_LABEL (self->label));
}
