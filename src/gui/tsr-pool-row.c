/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "config.h"

#include <glib/gi18n.h>

#include "tsr-gui-util.h"
#include "tsr-pool-row.h"
#include "tsr-storage.h"

/* The storage pool drop-down of New VM, Import and Clone. Tessera's own
 * pool is offered even before it exists, since it is made on first use;
 * with #TsrPoolRow:offer-source (Clone) the first item keeps each disk in
 * the source's pool instead, standing for %NULL.
 */

struct _TsrPoolRow
{
  TsrChoiceRow  parent_instance;

  GStrv         pools;         /* as listed, NULL until then */
  gboolean      offer_source;
};

G_DEFINE_FINAL_TYPE (TsrPoolRow, tsr_pool_row, TSR_TYPE_CHOICE_ROW)

enum {
  PROP_0,
  PROP_OFFER_SOURCE,
  N_PROPS
};

static GParamSpec *properties[N_PROPS];

static gboolean
get_offer_source (TsrPoolRow *self)
{
  return self->offer_source;
}

/* Construct-only: constructed() fills the list for it. */
static void
set_offer_source (TsrPoolRow *self,
                  gboolean    offer_source)
{
  self->offer_source = offer_source;
}

static const TsrGuiProperty accessors[N_PROPS] = {
  [PROP_OFFER_SOURCE] = TSR_GUI_PROPERTY (get_offer_source, set_offer_source),
};

static void
fill (TsrPoolRow *self)
{
  g_autoptr(GPtrArray) choices = g_ptr_array_new_with_free_func (g_object_unref);
  const char * const *pools = (const char * const *) self->pools;

  if (self->offer_source)
    g_ptr_array_add (choices, tsr_choice_new (NULL, _("Same as the source"), NULL));
  else if (pools == NULL || !g_strv_contains (pools, TSR_DEFAULT_POOL))
    g_ptr_array_add (choices, tsr_choice_new (TSR_DEFAULT_POOL, TSR_DEFAULT_POOL,
                                              pools ? _("Made when first needed") : NULL));

  for (guint i = 0; pools != NULL && pools[i] != NULL; i++)
    g_ptr_array_add (choices, tsr_choice_new (pools[i], pools[i], NULL));

  tsr_choice_row_set_choices (TSR_CHOICE_ROW (self), choices,
                              self->offer_source ? NULL : TSR_DEFAULT_POOL);
}

static void
tsr_pool_row_finalize (GObject *object)
{
  TsrPoolRow *self = TSR_POOL_ROW (object);

  g_strfreev (self->pools);

  G_OBJECT_CLASS (tsr_pool_row_parent_class)->finalize (object);
}

static void
tsr_pool_row_constructed (GObject *object)
{
  G_OBJECT_CLASS (tsr_pool_row_parent_class)->constructed (object);

  fill (TSR_POOL_ROW (object));
}

static void
tsr_pool_row_class_init (TsrPoolRowClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);

  object_class->finalize = tsr_pool_row_finalize;
  object_class->constructed = tsr_pool_row_constructed;

  /**
   * TsrPoolRow:offer-source:
   *
   * Whether the first item keeps the disks in the source's pools (a clone).
   */
  properties[PROP_OFFER_SOURCE] =
    g_param_spec_boolean ("offer-source", NULL, NULL, FALSE,
                          G_PARAM_READWRITE | G_PARAM_CONSTRUCT_ONLY | G_PARAM_STATIC_STRINGS);
  tsr_gui_install_properties (object_class, N_PROPS, properties, accessors);
}

static void
tsr_pool_row_init (TsrPoolRow *self)
{
  adw_preferences_row_set_title (ADW_PREFERENCES_ROW (self), _("Storage Pool"));
}

/**
 * tsr_pool_row_set_pools:
 * @self: a #TsrPoolRow
 * @pools: (nullable): the connection's pools, from its inventory
 *
 * Offers @pools, keeping the user's choice when it is still among them.
 */
void
tsr_pool_row_set_pools (TsrPoolRow         *self,
                        const char * const *pools)
{
  g_return_if_fail (TSR_IS_POOL_ROW (self));

  g_strfreev (self->pools);
  self->pools = g_strdupv ((GStrv) pools);
  fill (self);
}

/**
 * tsr_pool_row_get_pool:
 * @self: a #TsrPoolRow
 *
 * Returns: (nullable): the chosen pool; %NULL for the source's
 */
const char *
tsr_pool_row_get_pool (TsrPoolRow *self)
{
  g_return_val_if_fail (TSR_IS_POOL_ROW (self), NULL);

  return tsr_choice_row_get_value (TSR_CHOICE_ROW (self));
}
