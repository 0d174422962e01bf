/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "config.h"

#include <glib/gi18n.h>

#include "tsr-choice-row.h"
#include "tsr-gui-util.h"

/* A drop-down whose items stand for values (a pool, a network): each item
 * is a TsrChoice with the value, its title and what the row's subtitle says
 * while it is chosen. Refilling keeps the user's choice when it is still
 * offered. Pools, networks and any later chooser share it.
 */

struct _TsrChoice
{
  GObject  parent_instance;

  char    *value;
  char    *title;
  char    *subtitle;
};

G_DEFINE_FINAL_TYPE (TsrChoice, tsr_choice, G_TYPE_OBJECT)

static void
tsr_choice_finalize (GObject *object)
{
  TsrChoice *self = TSR_CHOICE (object);

  g_free (self->value);
  g_free (self->title);
  g_free (self->subtitle);

  G_OBJECT_CLASS (tsr_choice_parent_class)->finalize (object);
}

static void
tsr_choice_class_init (TsrChoiceClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);

  object_class->finalize = tsr_choice_finalize;
}

static void
tsr_choice_init (TsrChoice *self)
{
}

/**
 * tsr_choice_new:
 * @value: (nullable): what the item stands for
 * @title: what the drop-down shows
 * @subtitle: (nullable): what the row says while the item is chosen
 *
 * Returns: (transfer full): a new item
 */
TsrChoice *
tsr_choice_new (const char *value,
                const char *title,
                const char *subtitle)
{
  TsrChoice *self;

  g_return_val_if_fail (title != NULL, NULL);

  self = g_object_new (TSR_TYPE_CHOICE, NULL);
  self->value = g_strdup (value);
  self->title = g_strdup (title);
  self->subtitle = g_strdup (subtitle);
  return self;
}

const char *
tsr_choice_get_value (TsrChoice *self)
{
  g_return_val_if_fail (TSR_IS_CHOICE (self), NULL);
  return self->value;
}

const char *
tsr_choice_get_title (TsrChoice *self)
{
  g_return_val_if_fail (TSR_IS_CHOICE (self), NULL);
  return self->title;
}

const char *
tsr_choice_get_subtitle (TsrChoice *self)
{
  g_return_val_if_fail (TSR_IS_CHOICE (self), NULL);
  return self->subtitle;
}

/* The families TsrCreateSpec's os_family takes. */
const TsrChoiceEntry tsr_os_family_choices[] = {
  { "linux", N_("Linux") },
  { "windows", N_("Windows") },
  { "other", N_("Other") },
  { NULL, NULL }
};

const TsrChoiceEntry tsr_firmware_choices[] = {
  { "bios", N_("BIOS") },
  { "uefi", N_("UEFI") },
  { NULL, NULL }
};

/* The row */

typedef struct
{
  GListStore *choices;
  char       *hint;      /* the subtitle when the choice has none */
  char       *error;     /* why the list is incomplete, plain text */
  gboolean    listed;    /* filled at least once */
} TsrChoiceRowPrivate;

G_DEFINE_TYPE_WITH_PRIVATE (TsrChoiceRow, tsr_choice_row, ADW_TYPE_COMBO_ROW)

enum {
  PROP_0,
  PROP_VALUE,
  PROP_HINT,
  N_PROPS
};

static GParamSpec *properties[N_PROPS];

static const char *tsr_choice_row_get_hint (TsrChoiceRow *self);
static void        tsr_choice_row_set_hint (TsrChoiceRow *self,
                                            const char   *hint);

static const TsrGuiProperty accessors[N_PROPS] = {
  [PROP_VALUE] = TSR_GUI_PROPERTY_READ_ONLY (tsr_choice_row_get_value),
  [PROP_HINT] = TSR_GUI_PROPERTY (tsr_choice_row_get_hint, tsr_choice_row_set_hint),
};

static TsrChoice *
selected_choice (TsrChoiceRow *self)
{
  gpointer item = adw_combo_row_get_selected_item (ADW_COMBO_ROW (self));

  return TSR_IS_CHOICE (item) ? item : NULL;
}

static void
update_subtitle (TsrChoiceRow *self)
{
  TsrChoiceRowPrivate *priv = tsr_choice_row_get_instance_private (self);
  TsrChoice *choice = selected_choice (self);
  const char *text = priv->hint;
  g_autofree char *markup = NULL;

  if (priv->error != NULL)
    text = priv->error;
  else if (choice != NULL && choice->subtitle != NULL)
    text = choice->subtitle;

  markup = g_markup_escape_text (text ? text : "", -1);
  adw_action_row_set_subtitle (ADW_ACTION_ROW (self), markup);
}

static void
tsr_choice_row_selected_notify_cb (TsrChoiceRow *self)
{
  update_subtitle (self);
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_VALUE]);
}

static void
tsr_choice_row_finalize (GObject *object)
{
  TsrChoiceRow *self = TSR_CHOICE_ROW (object);
  TsrChoiceRowPrivate *priv = tsr_choice_row_get_instance_private (self);

  g_clear_object (&priv->choices);
  g_free (priv->hint);
  g_free (priv->error);

  G_OBJECT_CLASS (tsr_choice_row_parent_class)->finalize (object);
}

static const char *
tsr_choice_row_get_hint (TsrChoiceRow *self)
{
  TsrChoiceRowPrivate *priv = tsr_choice_row_get_instance_private (self);

  return priv->hint;
}

static void
tsr_choice_row_set_hint (TsrChoiceRow *self,
                         const char   *hint)
{
  TsrChoiceRowPrivate *priv = tsr_choice_row_get_instance_private (self);

  if (g_strcmp0 (priv->hint, hint) == 0)
    return;

  g_free (priv->hint);
  priv->hint = g_strdup (hint);
  update_subtitle (self);
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_HINT]);
}

static void
tsr_choice_row_class_init (TsrChoiceRowClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);

  object_class->finalize = tsr_choice_row_finalize;

  /**
   * TsrChoiceRow:value:
   *
   * What the chosen item stands for.
   */
  properties[PROP_VALUE] =
    g_param_spec_string ("value", NULL, NULL, NULL,
                         G_PARAM_READABLE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);
  /**
   * TsrChoiceRow:hint:
   *
   * The subtitle while the chosen item has none of its own.
   */
  properties[PROP_HINT] =
    g_param_spec_string ("hint", NULL, NULL, NULL,
                         G_PARAM_READWRITE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);
  tsr_gui_install_properties (object_class, N_PROPS, properties, accessors);
}

/* The drop-down's item label; the closure takes the string it returns. */
static char *
dup_choice_title (TsrChoice *choice)
{
  return g_strdup (choice->title);
}

static void
tsr_choice_row_init (TsrChoiceRow *self)
{
  TsrChoiceRowPrivate *priv = tsr_choice_row_get_instance_private (self);
  GtkExpression *expression;

  priv->choices = g_list_store_new (TSR_TYPE_CHOICE);
  expression = gtk_cclosure_expression_new (G_TYPE_STRING, NULL, 0, NULL,
                                            G_CALLBACK (dup_choice_title), NULL, NULL);
  adw_combo_row_set_expression (ADW_COMBO_ROW (self), expression);
  gtk_expression_unref (expression);
  adw_combo_row_set_model (ADW_COMBO_ROW (self), G_LIST_MODEL (priv->choices));

  g_signal_connect (self, "notify::selected",
                    G_CALLBACK (tsr_choice_row_selected_notify_cb), NULL);
}

static guint
position_of (TsrChoiceRow *self,
             const char   *value,
             gboolean     *found)
{
  TsrChoiceRowPrivate *priv = tsr_choice_row_get_instance_private (self);
  guint n = g_list_model_get_n_items (G_LIST_MODEL (priv->choices));

  for (guint i = 0; i < n; i++)
    {
      g_autoptr(TsrChoice) choice = g_list_model_get_item (G_LIST_MODEL (priv->choices), i);

      if (g_strcmp0 (choice->value, value) == 0)
        {
          *found = TRUE;
          return i;
        }
    }
  *found = FALSE;
  return 0;
}

/**
 * tsr_choice_row_set_choices:
 * @self: a #TsrChoiceRow
 * @choices: (element-type TsrChoice): the items, in order
 * @fallback: (nullable): the value to choose when the current one is gone
 *
 * Replaces the items, keeping the current choice when it is still offered.
 */
void
tsr_choice_row_set_choices (TsrChoiceRow *self,
                            GPtrArray    *choices,
                            const char   *fallback)
{
  TsrChoiceRowPrivate *priv = tsr_choice_row_get_instance_private (self);
  g_autofree char *keep = NULL;
  gboolean found = FALSE;
  guint position;

  g_return_if_fail (TSR_IS_CHOICE_ROW (self));
  g_return_if_fail (choices != NULL);

  keep = priv->listed ? g_strdup (tsr_choice_row_get_value (self)) : NULL;

  g_signal_handlers_block_by_func (self, tsr_choice_row_selected_notify_cb, NULL);
  g_list_store_splice (priv->choices, 0, g_list_model_get_n_items (G_LIST_MODEL (priv->choices)),
                       choices->pdata, choices->len);
  position = position_of (self, keep, &found);
  if (!priv->listed || !found)
    position = position_of (self, fallback, &found);
  priv->listed = TRUE;
  adw_combo_row_set_selected (ADW_COMBO_ROW (self), position);
  g_signal_handlers_unblock_by_func (self, tsr_choice_row_selected_notify_cb, NULL);

  tsr_choice_row_selected_notify_cb (self);
}

/**
 * tsr_choice_row_set_entries:
 * @self: a #TsrChoiceRow
 * @entries: fixed items, up to one whose value is %NULL
 * @fallback: (nullable): the value to choose when the current one is gone
 *
 * Offers @entries, with their titles translated.
 */
void
tsr_choice_row_set_entries (TsrChoiceRow         *self,
                            const TsrChoiceEntry *entries,
                            const char           *fallback)
{
  g_autoptr(GPtrArray) choices = g_ptr_array_new_with_free_func (g_object_unref);

  g_return_if_fail (TSR_IS_CHOICE_ROW (self));
  g_return_if_fail (entries != NULL);

  for (guint i = 0; entries[i].value != NULL; i++)
    g_ptr_array_add (choices, tsr_choice_new (entries[i].value, _(entries[i].title), NULL));
  tsr_choice_row_set_choices (self, choices, fallback);
}

/**
 * tsr_choice_row_get_value:
 * @self: a #TsrChoiceRow
 *
 * Returns: (nullable): what the chosen item stands for
 */
const char *
tsr_choice_row_get_value (TsrChoiceRow *self)
{
  TsrChoice *choice;

  g_return_val_if_fail (TSR_IS_CHOICE_ROW (self), NULL);

  choice = selected_choice (self);
  return choice ? choice->value : NULL;
}

/**
 * tsr_choice_row_select_value:
 * @self: a #TsrChoiceRow
 * @value: (nullable): a value
 *
 * Chooses the item that stands for @value, as the user would.
 *
 * Returns: %TRUE if an item stands for @value; otherwise nothing changes
 */
gboolean
tsr_choice_row_select_value (TsrChoiceRow *self,
                             const char   *value)
{
  gboolean found;
  guint position;

  g_return_val_if_fail (TSR_IS_CHOICE_ROW (self), FALSE);

  position = position_of (self, value, &found);
  if (found)
    adw_combo_row_set_selected (ADW_COMBO_ROW (self), position);
  return found;
}

/**
 * tsr_choice_row_store_value:
 * @self: a #TsrChoiceRow
 * @field: (inout): a string field, such as a spec's pool
 *
 * Replaces *@field with the chosen value; a choice that stands for %NULL
 * leaves the field as it was (its default).
 */
void
tsr_choice_row_store_value (TsrChoiceRow  *self,
                            char         **field)
{
  const char *value;

  g_return_if_fail (TSR_IS_CHOICE_ROW (self));
  g_return_if_fail (field != NULL);

  if ((value = tsr_choice_row_get_value (self)) == NULL)
    return;
  g_free (*field);
  *field = g_strdup (value);
}

/**
 * tsr_choice_row_set_error:
 * @self: a #TsrChoiceRow
 * @message: (nullable): why the items could not be listed, or %NULL
 *
 * Shows @message as the subtitle instead of what the choice says.
 */
void
tsr_choice_row_set_error (TsrChoiceRow *self,
                          const char   *message)
{
  TsrChoiceRowPrivate *priv = tsr_choice_row_get_instance_private (self);

  g_return_if_fail (TSR_IS_CHOICE_ROW (self));

  g_free (priv->error);
  priv->error = g_strdup (message);
  update_subtitle (self);
}

/* Whether the items were filled at least once. */
gboolean
tsr_choice_row_get_listed (TsrChoiceRow *self)
{
  TsrChoiceRowPrivate *priv = tsr_choice_row_get_instance_private (self);

  g_return_val_if_fail (TSR_IS_CHOICE_ROW (self), FALSE);
  return priv->listed;
}
