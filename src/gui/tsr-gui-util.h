/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include <adwaita.h>

#include "tsr-connection.h"
#include "tsr-inventory.h"

G_BEGIN_DECLS

/* Pieces the dialogs share (tsr-gui-util.c). */

void tsr_gui_show_field_message  (GtkLabel        *label,
                                  GtkWidget       *row,
                                  const char      *message);

void tsr_gui_add_toast           (AdwToastOverlay *overlay,
                                  AdwToast       **last,
                                  const char      *text,
                                  guint            timeout);
void tsr_gui_dismiss_toast       (AdwToast       **last);

void tsr_gui_dialog_set_parent   (GtkWindow       *dialog,
                                  GtkWindow       *parent);
void tsr_gui_dialog_forget_parent (GtkWindow      *dialog);

/* Called with the inventory, or with why there is none; never once
 * @cancellable was cancelled.
 */
typedef void (*TsrInventoryReadyFunc) (gpointer      owner,
                                       TsrInventory *inventory,
                                       const GError *error);

void tsr_gui_get_inventory       (gpointer               owner,
                                  TsrConnection         *connection,
                                  GCancellable          *cancellable,
                                  TsrInventoryReadyFunc  ready);

G_END_DECLS
