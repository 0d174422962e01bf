/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include <adwaita.h>

#include "tsr-connection.h"
#include "tsr-inventory.h"

G_BEGIN_DECLS

#define TSR_TYPE_DIALOG (tsr_dialog_get_type ())

G_DECLARE_DERIVABLE_TYPE (TsrDialog, tsr_dialog, TSR, DIALOG, AdwWindow)

struct _TsrDialogClass
{
  AdwWindowClass parent_class;
};

/* Called with the inventory, or with why there is none; never once the
 * dialog's cancellable was cancelled.
 */
typedef void (*TsrDialogInventoryFunc) (gpointer      self,
                                        TsrInventory *inventory,
                                        const GError *error);

void          tsr_dialog_set_parent      (TsrDialog              *self,
                                          GtkWindow              *parent);
GCancellable *tsr_dialog_get_cancellable (TsrDialog              *self);
void          tsr_dialog_get_inventory   (TsrDialog              *self,
                                          TsrConnection          *connection,
                                          TsrDialogInventoryFunc  ready);
gboolean      tsr_dialog_get_loading     (TsrDialog              *self);

G_END_DECLS
