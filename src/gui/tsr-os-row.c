/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "config.h"

#include <glib/gi18n.h>

#include "tsr-os-row.h"

/* The wizard's "Operating System" row: what libosinfo recognised on the
 * install media ("Debian 11", "Microsoft Windows 11", "Unknown"), and a
 * searchable list of every OS libosinfo knows to choose another. Reading
 * the media and loading the list run in workers; a newer request cancels
 * the one in flight.
 */
struct _TsrOsRow
{
  AdwActionRow    parent_instance;

  GtkMenuButton  *button;
  GtkSearchEntry *search;
  GtkStringFilter *filter;
  GtkListView    *list_view;
  GtkStack       *list_stack;

  GCancellable   *cancellable;       /* detection or defaults in flight */
  GCancellable   *list_cancellable;
  TsrOsDefaults  *defaults;
  GListModel     *list;              /* every OS, once loaded */
  gboolean        busy;
  gboolean        detected;
};

G_DEFINE_FINAL_TYPE (TsrOsRow, tsr_os_row, ADW_TYPE_ACTION_ROW)

enum {
  CHANGED,
  N_SIGNALS
};

static guint signals[N_SIGNALS];

static void
show_state (TsrOsRow *self)
{
  g_autofree char *subtitle = NULL;

  if (self->busy)
    subtitle = g_strdup (_("Recognising the system on the install media…"));
  else if (self->defaults->id == NULL)
    subtitle = g_strdup (_("Unknown: Tessera’s defaults, virtio devices and BIOS"));
  else if (self->detected)
    subtitle = g_strdup_printf (_("%s, recognised on the install media"), self->defaults->name);
  else
    subtitle = g_strdup (self->defaults->name);
  /* What the VM gets for it that the user cannot see in the form. */
  if (!self->busy && self->defaults->secure_boot && self->defaults->tpm)
    {
      char *more = g_strdup_printf (_("%s · UEFI Secure Boot and TPM 2.0"), subtitle);

      g_free (subtitle);
      subtitle = more;
    }
  adw_action_row_set_subtitle (ADW_ACTION_ROW (self), subtitle);
  gtk_accessible_update_property (GTK_ACCESSIBLE (self), GTK_ACCESSIBLE_PROPERTY_DESCRIPTION,
                                  subtitle, -1);
}

/* BY_USER: chosen from the list, not recognised. */
static void
take_defaults (TsrOsRow      *self,
               TsrOsDefaults *defaults,
               gboolean       detected,
               gboolean       by_user)
{
  g_clear_pointer (&self->defaults, tsr_os_defaults_free);
  self->defaults = defaults;
  self->detected = detected;
  self->busy = FALSE;
  show_state (self);
  g_signal_emit (self, signals[CHANGED], 0, by_user);
}

static void
restart (TsrOsRow *self)
{
  g_cancellable_cancel (self->cancellable);
  g_clear_object (&self->cancellable);
  self->cancellable = g_cancellable_new ();
  self->busy = TRUE;
  show_state (self);
}

static void
tsr_os_row_identified_cb (GObject      *object,
                          GAsyncResult *result,
                          gpointer      user_data)
{
  g_autoptr(TsrOsRow) self = user_data;
  g_autoptr(GError) error = NULL;
  TsrOsDefaults *defaults = tsr_osinfo_identify_finish (result, &error);

  if (defaults == NULL)
    return;  /* cancelled: a newer request owns the row */
  take_defaults (self, defaults, defaults->id != NULL, FALSE);
}

/**
 * tsr_os_row_detect:
 * @path: (nullable): install media on this machine, or %NULL for none
 *
 * Recognises the OS on @path in a worker and shows it.
 */
void
tsr_os_row_detect (TsrOsRow   *self,
                   const char *path)
{
  g_return_if_fail (TSR_IS_OS_ROW (self));

  restart (self);
  if (path == NULL)
    {
      take_defaults (self, tsr_os_defaults_unknown (), FALSE, FALSE);
      return;
    }
  tsr_osinfo_identify_async (path, self->cancellable, tsr_os_row_identified_cb,
                             g_object_ref (self));
}

static void
tsr_os_row_defaults_cb (GObject      *object,
                        GAsyncResult *result,
                        gpointer      user_data)
{
  g_autoptr(TsrOsRow) self = user_data;
  g_autoptr(GError) error = NULL;
  TsrOsDefaults *defaults = tsr_osinfo_defaults_finish (result, &error);

  if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
    return;
  if (defaults == NULL)
    {
      g_warning ("No defaults for the chosen OS: %s", error->message);
      defaults = tsr_os_defaults_unknown ();
    }
  take_defaults (self, defaults, FALSE, TRUE);
}

/* The OS with libosinfo short id ID, as if the user had chosen it. */
void
tsr_os_row_select (TsrOsRow   *self,
                   const char *id)
{
  g_return_if_fail (TSR_IS_OS_ROW (self));
  g_return_if_fail (id != NULL);

  restart (self);
  tsr_osinfo_defaults_async (id, self->cancellable, tsr_os_row_defaults_cb, g_object_ref (self));
}

const TsrOsDefaults *
tsr_os_row_get_defaults (TsrOsRow *self)
{
  g_return_val_if_fail (TSR_IS_OS_ROW (self), NULL);
  return self->defaults;
}

gboolean
tsr_os_row_get_busy (TsrOsRow *self)
{
  g_return_val_if_fail (TSR_IS_OS_ROW (self), FALSE);
  return self->busy;
}

/* The list */

/* The list view gets its model only once the popover is on screen: a
 * list view without a surface of its own cannot lay rows out.
 */
static void
show_list (TsrOsRow *self)
{
  GtkFilterListModel *filtered;
  GtkNoSelection *selection;

  if (self->list == NULL || gtk_list_view_get_model (self->list_view) != NULL)
    return;
  filtered = gtk_filter_list_model_new (g_object_ref (self->list),
                                        g_object_ref (GTK_FILTER (self->filter)));
  selection = gtk_no_selection_new (G_LIST_MODEL (filtered));
  gtk_list_view_set_model (self->list_view, GTK_SELECTION_MODEL (selection));
  g_object_unref (selection);
  gtk_stack_set_visible_child_name (self->list_stack, "list");
}

static void
tsr_os_row_list_cb (GObject      *object,
                    GAsyncResult *result,
                    gpointer      user_data)
{
  g_autoptr(TsrOsRow) self = user_data;
  g_autoptr(GError) error = NULL;
  g_autoptr(GListModel) list = tsr_osinfo_list_finish (result, &error);

  if (list == NULL)
    {
      if (!g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
        g_warning ("Listing operating systems failed: %s", error->message);
      return;
    }
  self->list = g_steal_pointer (&list);
  if (gtk_widget_get_mapped (GTK_WIDGET (gtk_menu_button_get_popover (self->button))))
    show_list (self);
}

static void
tsr_os_row_popover_shown_cb (TsrOsRow *self)
{
  gtk_editable_set_text (GTK_EDITABLE (self->search), "");
  gtk_widget_grab_focus (GTK_WIDGET (self->search));
  show_list (self);
}

static void
tsr_os_row_search_changed_cb (TsrOsRow       *self,
                              GtkSearchEntry *entry)
{
  gtk_string_filter_set_search (self->filter, gtk_editable_get_text (GTK_EDITABLE (entry)));
}

static void
tsr_os_row_activated_cb (TsrOsRow    *self,
                         guint        position,
                         GtkListView *view)
{
  g_autoptr(TsrOsEntry) entry = g_list_model_get_item (G_LIST_MODEL (gtk_list_view_get_model (view)),
                                                       position);

  gtk_menu_button_popdown (self->button);
  if (entry != NULL)
    tsr_os_row_select (self, tsr_os_entry_get_id (entry));
}

static void
setup_item_cb (GtkSignalListItemFactory *factory,
               GtkListItem              *item,
               gpointer                  user_data)
{
  GtkWidget *label = gtk_label_new (NULL);

  gtk_label_set_xalign (GTK_LABEL (label), 0);
  gtk_label_set_ellipsize (GTK_LABEL (label), PANGO_ELLIPSIZE_END);
  gtk_widget_set_margin_top (label, 6);
  gtk_widget_set_margin_bottom (label, 6);
  gtk_widget_set_margin_start (label, 6);
  gtk_list_item_set_child (item, label);
}

static void
bind_item_cb (GtkSignalListItemFactory *factory,
              GtkListItem              *item,
              gpointer                  user_data)
{
  TsrOsEntry *entry = gtk_list_item_get_item (item);

  gtk_label_set_text (GTK_LABEL (gtk_list_item_get_child (item)), tsr_os_entry_get_label (entry));
}

/* A search entry over a list, in the row's popover. */
static GtkWidget *
build_popover (TsrOsRow *self)
{
  GtkWidget *popover = gtk_popover_new ();
  GtkWidget *box = gtk_box_new (GTK_ORIENTATION_VERTICAL, 6);
  GtkWidget *scrolled = gtk_scrolled_window_new ();
  GtkWidget *spinner = gtk_spinner_new ();
  GtkListItemFactory *factory = gtk_signal_list_item_factory_new ();
  GtkExpression *expression = gtk_property_expression_new (TSR_TYPE_OS_ENTRY, NULL, "label");

  self->search = GTK_SEARCH_ENTRY (gtk_search_entry_new ());
  g_object_set (self->search, "placeholder-text", _("Search operating systems"), NULL);
  g_signal_connect_object (self->search, "search-changed",
                           G_CALLBACK (tsr_os_row_search_changed_cb), self, G_CONNECT_SWAPPED);
  gtk_box_append (GTK_BOX (box), GTK_WIDGET (self->search));

  self->filter = gtk_string_filter_new (expression);
  gtk_string_filter_set_match_mode (self->filter, GTK_STRING_FILTER_MATCH_MODE_SUBSTRING);
  gtk_string_filter_set_ignore_case (self->filter, TRUE);

  g_signal_connect (factory, "setup", G_CALLBACK (setup_item_cb), NULL);
  g_signal_connect (factory, "bind", G_CALLBACK (bind_item_cb), NULL);
  self->list_view = GTK_LIST_VIEW (gtk_list_view_new (NULL, factory));
  gtk_list_view_set_single_click_activate (self->list_view, TRUE);
  g_signal_connect_object (self->list_view, "activate",
                           G_CALLBACK (tsr_os_row_activated_cb), self, G_CONNECT_SWAPPED);
  gtk_scrolled_window_set_child (GTK_SCROLLED_WINDOW (scrolled), GTK_WIDGET (self->list_view));
  gtk_scrolled_window_set_policy (GTK_SCROLLED_WINDOW (scrolled), GTK_POLICY_NEVER,
                                  GTK_POLICY_AUTOMATIC);
  gtk_widget_set_size_request (scrolled, 360, 320);

  self->list_stack = GTK_STACK (gtk_stack_new ());
  gtk_spinner_set_spinning (GTK_SPINNER (spinner), TRUE);
  gtk_widget_set_valign (spinner, GTK_ALIGN_CENTER);
  gtk_stack_add_named (self->list_stack, spinner, "loading");
  gtk_stack_add_named (self->list_stack, scrolled, "list");
  gtk_box_append (GTK_BOX (box), GTK_WIDGET (self->list_stack));

  gtk_popover_set_child (GTK_POPOVER (popover), box);
  g_signal_connect_object (popover, "show", G_CALLBACK (tsr_os_row_popover_shown_cb),
                           self, G_CONNECT_SWAPPED);
  return popover;
}

static void
tsr_os_row_dispose (GObject *object)
{
  TsrOsRow *self = TSR_OS_ROW (object);

  g_cancellable_cancel (self->cancellable);
  g_cancellable_cancel (self->list_cancellable);
  g_clear_object (&self->cancellable);
  g_clear_object (&self->list_cancellable);
  g_clear_object (&self->filter);
  g_clear_object (&self->list);
  G_OBJECT_CLASS (tsr_os_row_parent_class)->dispose (object);
}

static void
tsr_os_row_finalize (GObject *object)
{
  TsrOsRow *self = TSR_OS_ROW (object);

  g_clear_pointer (&self->defaults, tsr_os_defaults_free);
  G_OBJECT_CLASS (tsr_os_row_parent_class)->finalize (object);
}

static void
tsr_os_row_class_init (TsrOsRowClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);

  object_class->dispose = tsr_os_row_dispose;
  object_class->finalize = tsr_os_row_finalize;

  /**
   * TsrOsRow::changed:
   * @self: the row
   * @by_user: whether the user chose the OS from the list
   *
   * The OS, and so its defaults, changed.
   */
  signals[CHANGED] = g_signal_new ("changed", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST,
                                   0, NULL, NULL, NULL, G_TYPE_NONE, 1, G_TYPE_BOOLEAN);
}

static void
tsr_os_row_init (TsrOsRow *self)
{
  self->button = GTK_MENU_BUTTON (gtk_menu_button_new ());
  gtk_menu_button_set_label (self->button, _("Ch_ange…"));
  gtk_menu_button_set_use_underline (self->button, TRUE);
  gtk_widget_set_valign (GTK_WIDGET (self->button), GTK_ALIGN_CENTER);
  gtk_menu_button_set_popover (self->button, build_popover (self));
  adw_action_row_add_suffix (ADW_ACTION_ROW (self), GTK_WIDGET (self->button));
  adw_action_row_set_activatable_widget (ADW_ACTION_ROW (self), GTK_WIDGET (self->button));
  adw_preferences_row_set_title (ADW_PREFERENCES_ROW (self), _("Operating System"));

  self->list_cancellable = g_cancellable_new ();
  self->defaults = tsr_os_defaults_unknown ();
  show_state (self);
  /* Loading libosinfo's database takes most of a second, once per
   * process: start now, so that the list and the first media are quick.
   */
  tsr_osinfo_list_async (self->list_cancellable, tsr_os_row_list_cb, g_object_ref (self));
}

TsrOsRow *
tsr_os_row_new (void)
{
  return g_object_new (TSR_TYPE_OS_ROW, NULL);
}
