/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "config.h"

#include <string.h>
#include <glib/gi18n.h>

#include "tsr-vm-cell.h"
#include "tsr-window-private.h"

/* The search of the VM list. Words match any of the fields below; a
 * "template:NAME" term keeps only the VMs based on the TemplateVM NAME
 * (the row menu of a template sets it: "Show VMs Based on It").
 */

#define TEMPLATE_TERM "template:"

/* The fields the search looks at. */
static const char * const search_fields[] = {
  "name", "ip", "mac", "state", "class", "template", "network",
};

static gboolean
text_matches (TsrVm      *vm,
              const char *text)
{
  for (guint i = 0; i < G_N_ELEMENTS (search_fields); i++)
    {
      g_autofree char *value = tsr_vm_dup_field_value (vm, search_fields[i]);
      g_autofree char *folded = NULL;

      if (value == NULL)
        continue;

      folded = g_utf8_casefold (value, -1);
      if (strstr (folded, text) != NULL)
        return TRUE;
    }

  return FALSE;
}

static gboolean
tsr_window_vm_matches_cb (gpointer item,
                          gpointer user_data)
{
  TsrWindow *self = user_data;
  TsrVm *vm = item;

  if (self->search_template != NULL)
    {
      const char *base = tsr_vm_get_base_template (vm);
      g_autofree char *folded = base ? g_utf8_casefold (base, -1) : NULL;

      if (g_strcmp0 (folded, self->search_template) != 0)
        return FALSE;
    }

  if (self->search_text == NULL || *self->search_text == '\0')
    return TRUE;

  return text_matches (vm, self->search_text);
}

/* Splits the case-folded search into its template:NAME term, if any, and
 * the other words. "template:" alone names no template yet.
 */
static void
parse_search (const char  *folded,
              char       **template_name,
              char       **words)
{
  const char *term = strstr (folded, TEMPLATE_TERM);
  const char *end;
  g_autofree char *before = NULL;

  while (term != NULL && term != folded && !g_ascii_isspace (term[-1]))
    term = strstr (term + 1, TEMPLATE_TERM);
  if (term == NULL)
    {
      *template_name = NULL;
      *words = g_strdup (folded);
      return;
    }

  end = term + strlen (TEMPLATE_TERM);
  while (*end != '\0' && !g_ascii_isspace (*end))
    end++;
  *template_name = g_strndup (term + strlen (TEMPLATE_TERM), end - term - strlen (TEMPLATE_TERM));
  if (**template_name == '\0')
    g_clear_pointer (template_name, g_free);
  before = g_strndup (folded, term - folded);
  *words = g_strstrip (g_strconcat (g_strstrip (before), " ", end, NULL));
}

void
_tsr_window_search_changed_cb (TsrWindow      *self,
                               GtkSearchEntry *entry)
{
  const char *text = gtk_editable_get_text (GTK_EDITABLE (entry));
  g_autofree char *folded = g_utf8_casefold (g_strstrip (g_strdup (text)), -1);
  g_autofree char *old = NULL;
  g_autofree char *old_template = NULL;
  g_autofree char *template_name = NULL;
  g_autofree char *words = NULL;
  GtkFilterChange change = GTK_FILTER_CHANGE_DIFFERENT;

  g_assert (TSR_IS_WINDOW (self));

  parse_search (folded, &template_name, &words);
  if (g_strcmp0 (self->search_text, words) == 0 &&
      g_strcmp0 (self->search_template, template_name) == 0)
    return;

  old = g_steal_pointer (&self->search_text);
  old_template = g_steal_pointer (&self->search_template);

  /* Typing on narrows the results, deleting widens them: GTK then only
   * looks again at the rows that can change. A template term names one
   * template exactly, so changing it does neither.
   */
  if (g_strcmp0 (old_template, template_name) != 0)
    change = GTK_FILTER_CHANGE_DIFFERENT;
  else if (old == NULL || (strstr (words, old) != NULL))
    change = GTK_FILTER_CHANGE_MORE_STRICT;
  else if (strstr (old, words) != NULL)
    change = GTK_FILTER_CHANGE_LESS_STRICT;

  self->search_text = g_steal_pointer (&words);
  self->search_template = g_steal_pointer (&template_name);
  gtk_filter_changed (GTK_FILTER (self->filter), change);
  /* What the person typed shows at once, not spread over frames as in a
   * storm of changes from the connection.
   */
  tsr_stable_list_sync_now (self->stable_model);
}

void
_tsr_window_search_activate_cb (TsrWindow      *self,
                                GtkSearchEntry *entry)
{
  g_assert (TSR_IS_WINDOW (self));

  /* Enter takes the first result, ready for the row menu's keyboard accels. */
  if (g_list_model_get_n_items (G_LIST_MODEL (self->stable_model)) > 0)
    {
      gtk_single_selection_set_selected (self->selection, 0);
      gtk_widget_grab_focus (GTK_WIDGET (self->column_view));
    }
}

/**
 * _tsr_window_search_refilter:
 * @self: a #TsrWindow
 *
 * Matches the VMs again after their fields changed, when a search is on.
 */
void
_tsr_window_search_refilter (TsrWindow *self)
{
  g_assert (TSR_IS_WINDOW (self));

  if ((self->search_text != NULL && *self->search_text != '\0') || self->search_template != NULL)
    gtk_filter_changed (GTK_FILTER (self->filter), GTK_FILTER_CHANGE_DIFFERENT);
}

/* "Show VMs Based on It" on a template's row. */
static void
tsr_window_vm_show_based_cb (GtkWidget  *widget,
                             const char *action_name,
                             GVariant   *param)
{
  TsrWindow *self = TSR_WINDOW (widget);
  g_autofree char *text = NULL;

  if (self->selected_vm == NULL)
    return;

  text = g_strconcat (TEMPLATE_TERM, tsr_vm_get_name (self->selected_vm), NULL);
  gtk_search_bar_set_search_mode (self->search_bar, TRUE);
  gtk_editable_set_text (GTK_EDITABLE (self->search_entry), text);
  gtk_editable_set_position (GTK_EDITABLE (self->search_entry), -1);
  /* At once, not after the entry's typing delay. */
  _tsr_window_search_changed_cb (self, self->search_entry);
}

void
_tsr_window_search_update (TsrWindow *self)
{
  TsrVm *vm = self->selected_vm;

  gtk_widget_action_set_enabled (GTK_WIDGET (self), "win.vm-show-based",
                                 vm != NULL && g_strcmp0 (tsr_vm_get_vm_class (vm), "TemplateVM") == 0);
}

void
_tsr_window_class_search_init (TsrWindowClass *klass)
{
  gtk_widget_class_install_action (GTK_WIDGET_CLASS (klass), "win.vm-show-based", NULL,
                                   tsr_window_vm_show_based_cb);
}

void
_tsr_window_search_init (TsrWindow *self)
{
  self->filter = gtk_custom_filter_new (tsr_window_vm_matches_cb, self, NULL);
  gtk_filter_list_model_set_filter (self->filter_model, GTK_FILTER (self->filter));
}
