/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "config.h"

#include <glib/gi18n.h>

#include "tsr-creator.h"
#include "tsr-network.h"
#include "tsr-network-row.h"

/* The network drop-down of New VM and Import: Tessera's managed network
 * first (made on first use), the connection's other networks, then none.
 * The values are what TsrCreateSpec's netvm takes.
 */

struct _TsrNetworkRow
{
  TsrChoiceRow  parent_instance;
};

G_DEFINE_FINAL_TYPE (TsrNetworkRow, tsr_network_row, TSR_TYPE_CHOICE_ROW)

static void
fill (TsrNetworkRow      *self,
      const char * const *networks)
{
  g_autoptr(GPtrArray) choices = g_ptr_array_new_with_free_func (g_object_unref);
  g_autoptr(TsrCreateSpec) defaults = tsr_create_spec_new (NULL);
  const char *managed = TSR_MANAGED_NETWORK_NAME;
  gboolean known = networks == NULL || g_strv_contains (networks, managed);

  g_ptr_array_add (choices, tsr_choice_new (managed, managed,
                                            known ? _("Tessera’s own: a fixed address for the VM")
                                                  : _("Tessera’s own, made when first needed")));

  for (guint i = 0; networks != NULL && networks[i] != NULL; i++)
    if (!g_str_equal (networks[i], managed))
      g_ptr_array_add (choices, tsr_choice_new (networks[i], networks[i], NULL));

  /* Before the list arrives, the default is offered by name. */
  if (networks == NULL && !g_str_equal (defaults->netvm, managed) &&
      !g_str_equal (defaults->netvm, "none"))
    g_ptr_array_add (choices, tsr_choice_new (defaults->netvm, defaults->netvm, NULL));

  g_ptr_array_add (choices, tsr_choice_new ("none", _("None (no network)"), _("No network card")));

  tsr_choice_row_set_choices (TSR_CHOICE_ROW (self), choices, defaults->netvm);
}

static void
tsr_network_row_class_init (TsrNetworkRowClass *klass)
{
}

static void
tsr_network_row_init (TsrNetworkRow *self)
{
  adw_preferences_row_set_title (ADW_PREFERENCES_ROW (self), _("Network"));
  fill (self, NULL);
}

/**
 * tsr_network_row_set_networks:
 * @self: a #TsrNetworkRow
 * @networks: (nullable): the connection's networks, from its inventory
 *
 * Offers @networks, keeping the user's choice when it is still among them.
 */
void
tsr_network_row_set_networks (TsrNetworkRow      *self,
                              const char * const *networks)
{
  g_return_if_fail (TSR_IS_NETWORK_ROW (self));

  fill (self, networks);
}

const char *
tsr_network_row_get_network (TsrNetworkRow *self)
{
  g_return_val_if_fail (TSR_IS_NETWORK_ROW (self), NULL);

  return tsr_choice_row_get_value (TSR_CHOICE_ROW (self));
}
