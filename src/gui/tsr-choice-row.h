/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include <adwaita.h>

G_BEGIN_DECLS

#define TSR_TYPE_CHOICE (tsr_choice_get_type ())

G_DECLARE_FINAL_TYPE (TsrChoice, tsr_choice, TSR, CHOICE, GObject)

TsrChoice  *tsr_choice_new          (const char *value,
                                     const char *title,
                                     const char *subtitle);
const char *tsr_choice_get_value    (TsrChoice  *self);
const char *tsr_choice_get_title    (TsrChoice  *self);
const char *tsr_choice_get_subtitle (TsrChoice  *self);

/* A fixed item: the value and its title, marked with N_ but not yet translated. */
typedef struct
{
  const char *value;
  const char *title;
} TsrChoiceEntry;

/* The systems and firmwares a VM may be made for, NULL-terminated. */
extern const TsrChoiceEntry tsr_os_family_choices[];
extern const TsrChoiceEntry tsr_firmware_choices[];

#define TSR_TYPE_CHOICE_ROW (tsr_choice_row_get_type ())

G_DECLARE_DERIVABLE_TYPE (TsrChoiceRow, tsr_choice_row, TSR, CHOICE_ROW, AdwComboRow)

struct _TsrChoiceRowClass
{
  AdwComboRowClass parent_class;
};

void        tsr_choice_row_set_choices   (TsrChoiceRow *self,
                                          GPtrArray    *choices,
                                          const char   *fallback);
void        tsr_choice_row_set_entries   (TsrChoiceRow         *self,
                                          const TsrChoiceEntry *entries,
                                          const char           *fallback);
const char *tsr_choice_row_get_value     (TsrChoiceRow *self);
gboolean    tsr_choice_row_select_value  (TsrChoiceRow *self,
                                          const char   *value);
void        tsr_choice_row_store_value   (TsrChoiceRow *self,
                                          char        **field);
void        tsr_choice_row_set_error     (TsrChoiceRow *self,
                                          const char   *message);
gboolean    tsr_choice_row_get_listed    (TsrChoiceRow *self);

G_END_DECLS
