/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include <gio/gio.h>

G_BEGIN_DECLS

#define TSR_TYPE_STABLE_LIST (tsr_stable_list_get_type ())

G_DECLARE_FINAL_TYPE (TsrStableList, tsr_stable_list, TSR, STABLE_LIST, GObject)

/**
 * TsrStableListShownFunc:
 * @item: an item of the list
 * @user_data: the data given with the function
 *
 * Returns: whether the view has a row widget for @item: changes at or
 *   above such rows cost the view, and are spread over frames.
 */
typedef gboolean (*TsrStableListShownFunc) (gpointer item,
                                            gpointer user_data);

TsrStableList *tsr_stable_list_new            (GListModel             *model);
GListModel    *tsr_stable_list_get_model      (TsrStableList          *self);
void           tsr_stable_list_set_model      (TsrStableList          *self,
                                               GListModel             *model);
void           tsr_stable_list_set_shown_func (TsrStableList          *self,
                                               TsrStableListShownFunc  func,
                                               gpointer                user_data);
gboolean       tsr_stable_list_is_synced      (TsrStableList          *self);
void           tsr_stable_list_sync_now       (TsrStableList          *self);

G_END_DECLS
