/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "config.h"

#include <string.h>
#include <glib/gi18n.h>

#include "tsr-connection.h"
#include "tsr-gui-util.h"
#include "tsr-vm-cell.h"

/* What one cell of the VM list shows: the text the core gives for a field,
 * a dim dash when the value is unknown, and for the label and state fields
 * a small coloured mark in front of the text. A running AppVM's state
 * cell also says when its template has a newer revision than the one it
 * booted (the "outdated" badge), following the template's changes.
 */
struct _TsrVmCell
{
  GtkWidget  parent_instance;

  TsrVm     *vm;
  char      *field;

  GtkWidget *mark;        /* only in the label and state columns */
  GtkWidget *label;
  GtkWidget *badge;       /* state cells of outdated VMs, made when first needed */
  TsrConnection *connection;  /* weak: finds the template of the VM */
  TsrVm     *template_vm; /* the VM's template, followed while the VM is shown */
  GListModel *waiting_vms; /* the connection's VMs, while the template is not listed */
  char      *mark_class;
  guint      monospace : 1;
  guint      is_label : 1;
  guint      is_state : 1;
  guint      is_name : 1;
  guint      is_network : 1;
  guint      dim : 1;
  guint      is_template : 1;
};

G_DEFINE_FINAL_TYPE (TsrVmCell, tsr_vm_cell, GTK_TYPE_WIDGET)

enum {
  PROP_0,
  PROP_VM,
  PROP_FIELD,
  N_PROPS
};

static GParamSpec *properties[N_PROPS];
static const TsrGuiProperty accessors[N_PROPS] = {
  [PROP_VM] = TSR_GUI_PROPERTY (tsr_vm_cell_get_vm, tsr_vm_cell_set_vm),
  [PROP_FIELD] = TSR_GUI_PROPERTY (tsr_vm_cell_get_field, tsr_vm_cell_set_field),
};

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
  { "template",  N_("Copy Template"),    FALSE },
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

  /* Only where the VM runs from it: a StandaloneVM's template is history. */
  if (strcmp (field, "template") == 0)
    return g_strdup (tsr_vm_get_base_template (vm));

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
  g_assert (self->mark != NULL);

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
set_dim (TsrVmCell *self,
         gboolean   dim)
{
  if (self->dim == !!dim)
    return;

  self->dim = !!dim;
  if (dim)
    gtk_widget_add_css_class (self->label, "dim-label");
  else
    gtk_widget_remove_css_class (self->label, "dim-label");
}

static void
set_monospace (TsrVmCell *self,
               gboolean   monospace)
{
  if (monospace)
    gtk_widget_add_css_class (self->label, "monospace");
  else
    gtk_widget_remove_css_class (self->label, "monospace");
}

/* The outdated badge */

static void tsr_vm_cell_update (TsrVmCell *self);

static void
tsr_vm_cell_template_notify_cb (TsrVmCell  *self,
                                GParamSpec *pspec,
                                TsrVm      *template_vm)
{
  g_assert (TSR_IS_VM_CELL (self));

  if (self->vm != NULL)
    tsr_vm_cell_update (self);
}

static void
follow_template (TsrVmCell *self,
                 TsrVm     *template_vm)
{
  if (self->template_vm == template_vm)
    return;

  if (self->template_vm != NULL)
    g_signal_handlers_disconnect_by_func (self->template_vm, tsr_vm_cell_template_notify_cb, self);
  g_set_object (&self->template_vm, template_vm);
  /* Its commits (revision) and its renames, which leave the VM pointing
   * at no template.
   */
  if (template_vm != NULL)
    {
      g_signal_connect_object (template_vm, "notify::revision",
                               G_CALLBACK (tsr_vm_cell_template_notify_cb),
                               self, G_CONNECT_SWAPPED);
      g_signal_connect_object (template_vm, "notify::name",
                               G_CALLBACK (tsr_vm_cell_template_notify_cb),
                               self, G_CONNECT_SWAPPED);
    }
}

static void
tsr_vm_cell_vms_changed_cb (TsrVmCell  *self,
                            guint       position,
                            guint       removed,
                            guint       added,
                            GListModel *vms)
{
  if (added > 0 && self->vm != NULL)
    tsr_vm_cell_update (self);
}

/* A template listed after its AppVM (a burst of definitions, a template
 * defined again) is found when it comes.
 */
static void
wait_for_template (TsrVmCell  *self,
                   GListModel *vms)
{
  if (self->waiting_vms == vms)
    return;

  if (self->waiting_vms != NULL)
    g_signal_handlers_disconnect_by_func (self->waiting_vms, tsr_vm_cell_vms_changed_cb, self);
  g_set_object (&self->waiting_vms, vms);
  if (vms != NULL)
    g_signal_connect_object (vms, "items-changed",
                             G_CALLBACK (tsr_vm_cell_vms_changed_cb),
                             self, G_CONNECT_SWAPPED);
}

/* Only a running VM based on a template can be outdated, so the template
 * is looked up and followed only then.
 */
static void
update_outdated (TsrVmCell *self)
{
  const char *template_name = tsr_vm_get_base_template (self->vm);
  TsrVm *template_vm = NULL;
  gboolean wanted;
  gboolean outdated;

  wanted = template_name != NULL && tsr_vm_is_active (self->vm) && self->connection != NULL;
  if (wanted)
    template_vm = tsr_connection_lookup_vm (self->connection, template_name);
  follow_template (self, template_vm);
  wait_for_template (self, wanted && template_vm == NULL
                           ? tsr_connection_get_vms (self->connection) : NULL);
  outdated = tsr_vm_is_outdated (self->vm, template_vm);

  if (outdated && self->badge == NULL)
    {
      self->badge = g_object_new (GTK_TYPE_LABEL,
                                  "label", _("Outdated"),
                                  "tooltip-text", _("Restart to use the template’s newest revision"),
                                  "css-classes", (const char *[]) { "tsr-outdated-badge", "caption", NULL },
                                  "valign", GTK_ALIGN_CENTER,
                                  NULL);
      gtk_widget_set_parent (self->badge, GTK_WIDGET (self));
    }
  if (self->badge != NULL)
    gtk_widget_set_visible (self->badge, outdated);
}

/* Called for every row the list binds, so it changes only what differs:
 * each text or style class change makes GTK measure and restyle the cell.
 */
static void
tsr_vm_cell_update (TsrVmCell *self)
{
  g_autofree char *value = NULL;

  if (self->vm == NULL || self->field == NULL)
    {
      gtk_label_set_text (GTK_LABEL (self->label), "");
      if (self->mark != NULL)
        gtk_widget_set_visible (self->mark, FALSE);
      return;
    }

  value = tsr_vm_dup_field_value (self->vm, self->field);
  /* Not based on a template is no unknown value: nothing to show. */
  if (value == NULL && self->is_template)
    value = g_strdup ("");

  /* The dash of an unknown value is the same in every column, so it is not
   * set in the monospace font of the address columns.
   */
  if (g_strcmp0 (gtk_label_get_text (GTK_LABEL (self->label)), value != NULL ? value : "—") != 0)
    gtk_label_set_text (GTK_LABEL (self->label), value != NULL ? value : "—");
  if (self->monospace)
    set_monospace (self, value != NULL);

  if (self->is_label)
    set_mark_class (self, tsr_vm_get_label (self->vm));
  else if (self->is_state)
    set_mark_class (self, state_class (tsr_vm_get_state (self->vm)));
  if (self->mark != NULL)
    gtk_widget_set_visible (self->mark, TRUE);

  /* A halted VM's state reads quieter than a running one's. */
  if (self->is_state)
    set_dim (self, !tsr_vm_is_active (self->vm));
  else
    set_dim (self, value == NULL);

  if (self->is_state)
    update_outdated (self);
}

/* The tooltip is worked out when it is asked for: setting a tooltip text
 * on every bound cell would make GTK look for the pointer each time, a
 * round trip to the display server per cell.
 */
static gboolean
tsr_vm_cell_query_tooltip (GtkWidget  *widget,
                           int         x,
                           int         y,
                           gboolean    keyboard_tooltip,
                           GtkTooltip *tooltip)
{
  g_autofree char *text = tsr_vm_cell_dup_tooltip_text (TSR_VM_CELL (widget));

  if (text == NULL)
    return FALSE;

  gtk_tooltip_set_text (tooltip, text);
  return TRUE;
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

  if (self->vm != NULL)
    g_signal_handlers_disconnect_by_func (self->vm, tsr_vm_cell_vm_notify_cb, self);
  g_clear_object (&self->vm);
  follow_template (self, NULL);
  wait_for_template (self, NULL);
  g_clear_weak_pointer (&self->connection);
  g_clear_pointer (&self->mark, gtk_widget_unparent);
  g_clear_pointer (&self->label, gtk_widget_unparent);
  g_clear_pointer (&self->badge, gtk_widget_unparent);

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
tsr_vm_cell_class_init (TsrVmCellClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  GtkWidgetClass *widget_class = GTK_WIDGET_CLASS (klass);

  object_class->dispose = tsr_vm_cell_dispose;
  object_class->finalize = tsr_vm_cell_finalize;

  properties[PROP_VM] =
    g_param_spec_object ("vm", NULL, NULL,
                         TSR_TYPE_VM,
                         (G_PARAM_READWRITE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS));

  properties[PROP_FIELD] =
    g_param_spec_string ("field", NULL, NULL,
                         NULL,
                         (G_PARAM_READWRITE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS));

  tsr_gui_install_properties (object_class, N_PROPS, properties, accessors);

  widget_class->query_tooltip = tsr_vm_cell_query_tooltip;

  gtk_widget_class_set_layout_manager_type (widget_class, GTK_TYPE_BOX_LAYOUT);
  gtk_widget_class_set_css_name (widget_class, "tsrvmcell");
}

static void
tsr_vm_cell_init (TsrVmCell *self)
{
  GtkLayoutManager *layout = gtk_widget_get_layout_manager (GTK_WIDGET (self));

  gtk_box_layout_set_spacing (GTK_BOX_LAYOUT (layout), 8);

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

/**
 * tsr_vm_cell_set_vm:
 * @self: a #TsrVmCell
 * @vm: (nullable): the VM to show
 *
 * Shows @vm and follows its changes. With %NULL the cell only stops
 * following its VM and keeps showing what it showed: the list unbinds and
 * binds a row again whenever its position or selection changes, mostly
 * with the same VM, and the cell then changes nothing.
 */
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
    {
      g_signal_connect_object (vm, "notify",
                               G_CALLBACK (tsr_vm_cell_vm_notify_cb),
                               self,
                               G_CONNECT_SWAPPED);
      tsr_vm_cell_update (self);
    }

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
    set_monospace (self, FALSE);
  self->is_label = g_strcmp0 (field, "label") == 0;
  self->is_state = g_strcmp0 (field, "state") == 0;
  self->is_name = g_strcmp0 (field, "name") == 0;
  self->is_network = g_strcmp0 (field, "network") == 0;
  self->is_template = g_strcmp0 (field, "template") == 0;
  gtk_widget_set_has_tooltip (GTK_WIDGET (self), self->is_name || self->is_network);

  /* Only the label and state columns have a mark; the other cells save the
   * widget, since the list keeps some two thousand cells.
   */
  g_clear_pointer (&self->mark_class, g_free);
  g_clear_pointer (&self->mark, gtk_widget_unparent);
  if (self->is_label || self->is_state)
    {
      self->mark = g_object_new (GTK_TYPE_BOX,
                                 "css-classes", (const char *[]) { self->is_label ? "vm-label" : "vm-state-mark", NULL },
                                 "valign", GTK_ALIGN_CENTER,
                                 "visible", FALSE,
                                 NULL);
      gtk_widget_insert_before (self->mark, GTK_WIDGET (self), self->label);
    }

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

/**
 * tsr_vm_cell_dup_tooltip_text:
 * @self: a #TsrVmCell
 *
 * Returns: (nullable): the tooltip the cell shows: a name in full, since
 *   long ones are ellipsized, or why a VM has no network
 */
char *
tsr_vm_cell_dup_tooltip_text (TsrVmCell *self)
{
  g_autofree char *value = NULL;

  g_return_val_if_fail (TSR_IS_VM_CELL (self), NULL);

  if (self->vm == NULL || !(self->is_name || self->is_network))
    return NULL;

  value = tsr_vm_dup_field_value (self->vm, self->field);
  if (self->is_name)
    return g_steal_pointer (&value);

  return value == NULL ? g_strdup (_("Not connected to a network")) : NULL;
}

/**
 * tsr_vm_cell_set_connection:
 * @self: a #TsrVmCell
 * @connection: (nullable): the connection of the VMs the cell shows
 *
 * Where the cell finds the template of its VM, for the outdated badge.
 */
void
tsr_vm_cell_set_connection (TsrVmCell     *self,
                            TsrConnection *connection)
{
  g_return_if_fail (TSR_IS_VM_CELL (self));
  g_return_if_fail (connection == NULL || TSR_IS_CONNECTION (connection));

  if (self->connection == connection)
    return;

  g_set_weak_pointer (&self->connection, connection);
  if (self->vm != NULL)
    tsr_vm_cell_update (self);
}

/**
 * tsr_vm_cell_get_outdated:
 * @self: a #TsrVmCell
 *
 * Returns: whether the cell shows the outdated badge
 */
gboolean
tsr_vm_cell_get_outdated (TsrVmCell *self)
{
  g_return_val_if_fail (TSR_IS_VM_CELL (self), FALSE);

  return self->badge != NULL && gtk_widget_get_visible (self->badge);
}

/**
 * tsr_vm_cell_get_badge:
 * @self: a #TsrVmCell
 *
 * Returns: (nullable) (transfer none): the outdated badge, once made
 */
GtkWidget *
tsr_vm_cell_get_badge (TsrVmCell *self)
{
  g_return_val_if_fail (TSR_IS_VM_CELL (self), NULL);

  return self->badge;
}
