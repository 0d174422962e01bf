/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "config.h"

#include <glib/gi18n.h>

#include "tsr-error.h"
#include "tsr-gui-util.h"
#include "tsr-operation.h"
#include "tsr-progress.h"

/* A clone or an import as the GUI follows it: what the core reports, turned
 * into a fraction and a line for people, the cancellable that stops it, and
 * how it ended. The dialog that started it shows it while open; the main
 * window lists it until it ends, so several can run while the user does
 * something else.
 */

struct _TsrOperation
{
  GObject       parent_instance;

  char         *title;
  char         *success_title;
  GCancellable *cancellable;
  GCancellable *parent_cancellable;
  gulong        parent_handler;
  gboolean      estimate_time;
  gboolean      holding;

  double        fraction;    /* -1: no size known */
  char         *stage;
  char         *detail;
  guint64       sized_total; /* the total the rate was started for */
  guint64       sized_done;
  gint64        sized_start;

  gboolean      cancelling;
  gboolean      finished;
  gboolean      reported;
  char         *result;
  char         *notice;
  GError       *error;
};

G_DEFINE_FINAL_TYPE (TsrOperation, tsr_operation, G_TYPE_OBJECT)

enum {
  PROP_0,
  PROP_TITLE,
  PROP_FRACTION,
  PROP_STAGE,
  PROP_DETAIL,
  PROP_CANCELLING,
  PROP_FINISHED,
  N_PROPS
};

static GParamSpec *properties[N_PROPS];
static const TsrGuiProperty accessors[N_PROPS] = {
  [PROP_TITLE] = TSR_GUI_PROPERTY_READ_ONLY (tsr_operation_get_title),
  [PROP_FRACTION] = TSR_GUI_PROPERTY_READ_ONLY (tsr_operation_get_fraction),
  [PROP_STAGE] = TSR_GUI_PROPERTY_READ_ONLY (tsr_operation_get_stage),
  [PROP_DETAIL] = TSR_GUI_PROPERTY_READ_ONLY (tsr_operation_get_detail),
  [PROP_CANCELLING] = TSR_GUI_PROPERTY_READ_ONLY (tsr_operation_get_cancelling),
  [PROP_FINISHED] = TSR_GUI_PROPERTY_READ_ONLY (tsr_operation_get_finished),
};

enum {
  COMPLETED,
  N_SIGNALS
};

static guint signals[N_SIGNALS];

/**
 * tsr_format_time_left:
 * @seconds: the estimated time left
 *
 * Returns: the estimate, rounded the way people say it
 */
char *
tsr_format_time_left (gint64 seconds)
{
  if (seconds < 60)
    return g_strdup (_("less than a minute left"));
  if (seconds < 3600)
    {
      guint minutes = (guint) ((seconds + 30) / 60);

      return g_strdup_printf (g_dngettext (GETTEXT_PACKAGE, "about %u minute left",
                                           "about %u minutes left", minutes), minutes);
    }
  return g_strdup_printf (_("about %u h %02u min left"), (guint) (seconds / 3600),
                          (guint) (seconds % 3600 / 60));
}

static void
set_string (TsrOperation  *self,
            char         **field,
            const char    *value,
            GParamSpec    *pspec)
{
  if (g_strcmp0 (*field, value) == 0)
    return;
  g_free (*field);
  *field = g_strdup (value);
  g_object_notify_by_pspec (G_OBJECT (self), pspec);
}

static void
set_fraction (TsrOperation *self,
              double        fraction)
{
  if (self->fraction == fraction)
    return;
  self->fraction = fraction;
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_FRACTION]);
}

/**
 * tsr_operation_report_at:
 * @self: a #TsrOperation
 * @done: bytes done
 * @total: bytes in all, or 0 while the stage has no size
 * @stage: what is being done, for the user
 * @now_us: the monotonic time of the report
 *
 * Takes a progress report from the core.
 */
void
tsr_operation_report_at (TsrOperation *self,
                         guint64       done,
                         guint64       total,
                         const char   *stage,
                         gint64        now_us)
{
  g_autofree char *detail = NULL;

  g_return_if_fail (TSR_IS_OPERATION (self));

  if (self->finished)
    return;

  /* Once cancelled, the stage says so until the core has rolled back. */
  if (!self->cancelling)
    set_string (self, &self->stage, stage, properties[PROP_STAGE]);

  if (total == 0)
    {
      set_fraction (self, -1);
      set_string (self, &self->detail, NULL, properties[PROP_DETAIL]);
      return;
    }

  done = MIN (done, total);
  set_fraction (self, (double) done / (double) total);

  /* The rate is measured from the first report of this total on. */
  if (total != self->sized_total)
    {
      self->sized_total = total;
      self->sized_done = done;
      self->sized_start = now_us;
    }

  {
    g_autofree char *done_text = g_format_size_full (done, G_FORMAT_SIZE_IEC_UNITS);
    g_autofree char *total_text = g_format_size_full (total, G_FORMAT_SIZE_IEC_UNITS);
    g_autofree char *left = NULL;
    gint64 seconds = -1;

    if (self->estimate_time)
      seconds = tsr_progress_seconds_left (self->sized_start, now_us, done - self->sized_done,
                                           total - self->sized_done);
    if (seconds >= 0)
      left = tsr_format_time_left (seconds);

    /* Translators: "1.2 GiB of 4.0 GiB" */
    if (left != NULL)
      detail = g_strdup_printf (_("%s of %s — %s"), done_text, total_text, left);
    else
      detail = g_strdup_printf (_("%s of %s"), done_text, total_text);
  }
  set_string (self, &self->detail, detail, properties[PROP_DETAIL]);
}

/**
 * tsr_operation_progress_cb:
 * @done: bytes done
 * @total: bytes in all, or 0
 * @stage: what is being done
 * @user_data: the #TsrOperation
 *
 * The #TsrProgressFunc to give the core.
 */
void
tsr_operation_progress_cb (guint64     done,
                           guint64     total,
                           const char *stage,
                           gpointer    user_data)
{
  tsr_operation_report_at (user_data, done, total, stage, g_get_monotonic_time ());
}

static void
parent_cancelled_cb (GCancellable *parent,
                     gpointer      user_data)
{
  g_cancellable_cancel (user_data);
}

static void
release_application (TsrOperation *self)
{
  if (self->holding)
    {
      self->holding = FALSE;
      g_application_release (g_application_get_default ());
    }
}

/* GObject */

static void
tsr_operation_dispose (GObject *object)
{
  TsrOperation *self = TSR_OPERATION (object);

  if (self->parent_cancellable != NULL && self->parent_handler != 0)
    g_cancellable_disconnect (self->parent_cancellable, self->parent_handler);
  self->parent_handler = 0;
  g_clear_object (&self->parent_cancellable);
  release_application (self);

  G_OBJECT_CLASS (tsr_operation_parent_class)->dispose (object);
}

static void
tsr_operation_finalize (GObject *object)
{
  TsrOperation *self = TSR_OPERATION (object);

  g_clear_object (&self->cancellable);
  g_free (self->title);
  g_free (self->success_title);
  g_free (self->stage);
  g_free (self->detail);
  g_free (self->result);
  g_free (self->notice);
  g_clear_error (&self->error);

  G_OBJECT_CLASS (tsr_operation_parent_class)->finalize (object);
}

static void
tsr_operation_class_init (TsrOperationClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  GParamFlags flags = G_PARAM_READABLE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS;

  object_class->dispose = tsr_operation_dispose;
  object_class->finalize = tsr_operation_finalize;

  properties[PROP_TITLE] = g_param_spec_string ("title", NULL, NULL, NULL, flags);
  properties[PROP_FRACTION] =
    g_param_spec_double ("fraction", NULL, NULL, -1, 1, -1, flags);
  properties[PROP_STAGE] = g_param_spec_string ("stage", NULL, NULL, NULL, flags);
  properties[PROP_DETAIL] = g_param_spec_string ("detail", NULL, NULL, NULL, flags);
  properties[PROP_CANCELLING] = g_param_spec_boolean ("cancelling", NULL, NULL, FALSE, flags);
  properties[PROP_FINISHED] = g_param_spec_boolean ("finished", NULL, NULL, FALSE, flags);

  tsr_gui_install_properties (object_class, N_PROPS, properties, accessors);

  /**
   * TsrOperation::completed:
   * @self: the operation
   *
   * Emitted once, when the core is done: with a result, an error, or
   * cancelled. Handlers that tell the user mark it reported; handlers
   * connected after them see that.
   */
  signals[COMPLETED] =
    g_signal_new ("completed",
                  G_TYPE_FROM_CLASS (klass),
                  G_SIGNAL_RUN_LAST,
                  0, NULL, NULL, NULL,
                  G_TYPE_NONE, 0);
}

static void
tsr_operation_init (TsrOperation *self)
{
  self->fraction = -1;
  self->cancellable = g_cancellable_new ();
}

/**
 * tsr_operation_new:
 * @title: what it does, for the user: "Cloning “vault” as “vault-clone-1”"
 * @estimate_time: whether to guess the time left from the bytes (when the
 *   core's stages do not say it themselves)
 *
 * While it runs, the operation holds the application, so that a cancelled
 * one can roll back before Tessera exits.
 *
 * Returns: (transfer full): a new operation
 */
TsrOperation *
tsr_operation_new (const char *title,
                   gboolean    estimate_time)
{
  TsrOperation *self;

  g_return_val_if_fail (title != NULL, NULL);

  self = g_object_new (TSR_TYPE_OPERATION, NULL);
  self->title = g_strdup (title);
  self->estimate_time = estimate_time;

  if (g_application_get_default () != NULL)
    {
      g_application_hold (g_application_get_default ());
      self->holding = TRUE;
    }

  return self;
}

/**
 * tsr_operation_set_parent_cancellable:
 * @self: a #TsrOperation
 * @parent: cancelling this cancels the operation, such as the main window's
 *   when it closes; set once
 */
void
tsr_operation_set_parent_cancellable (TsrOperation *self,
                                      GCancellable *parent)
{
  g_return_if_fail (TSR_IS_OPERATION (self));
  g_return_if_fail (G_IS_CANCELLABLE (parent));
  g_return_if_fail (self->parent_cancellable == NULL);

  self->parent_cancellable = g_object_ref (parent);
  self->parent_handler = g_cancellable_connect (parent,
                                                G_CALLBACK (parent_cancelled_cb),
                                                g_object_ref (self->cancellable),
                                                g_object_unref);
}

const char *
tsr_operation_get_title (TsrOperation *self)
{
  g_return_val_if_fail (TSR_IS_OPERATION (self), NULL);

  return self->title;
}

/**
 * tsr_operation_get_success_title:
 * @self: a #TsrOperation
 *
 * Returns: (nullable): what to tell the user when it worked:
 *   "Cloned “vault” as “vault-clone-1”"
 */
const char *
tsr_operation_get_success_title (TsrOperation *self)
{
  g_return_val_if_fail (TSR_IS_OPERATION (self), NULL);

  return self->success_title;
}

void
tsr_operation_set_success_title (TsrOperation *self,
                                 const char   *title)
{
  g_return_if_fail (TSR_IS_OPERATION (self));

  g_free (self->success_title);
  self->success_title = g_strdup (title);
}

GCancellable *
tsr_operation_get_cancellable (TsrOperation *self)
{
  g_return_val_if_fail (TSR_IS_OPERATION (self), NULL);

  return self->cancellable;
}

/**
 * tsr_operation_cancel:
 * @self: a #TsrOperation
 *
 * Asks the core to stop; it completes once it has removed what it made.
 */
void
tsr_operation_cancel (TsrOperation *self)
{
  g_return_if_fail (TSR_IS_OPERATION (self));

  if (self->finished || self->cancelling)
    return;

  self->cancelling = TRUE;
  set_string (self, &self->stage, _("Cancelling: removing what was made…"),
              properties[PROP_STAGE]);
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_CANCELLING]);
  g_cancellable_cancel (self->cancellable);
}

gboolean
tsr_operation_get_cancelling (TsrOperation *self)
{
  g_return_val_if_fail (TSR_IS_OPERATION (self), FALSE);

  return self->cancelling;
}

double
tsr_operation_get_fraction (TsrOperation *self)
{
  g_return_val_if_fail (TSR_IS_OPERATION (self), -1);

  return self->fraction;
}

const char *
tsr_operation_get_stage (TsrOperation *self)
{
  g_return_val_if_fail (TSR_IS_OPERATION (self), NULL);

  return self->stage;
}

/**
 * tsr_operation_get_detail:
 * @self: a #TsrOperation
 *
 * Returns: (nullable): bytes done of the total, and the time left when
 *   known, or %NULL while the stage has no size
 */
const char *
tsr_operation_get_detail (TsrOperation *self)
{
  g_return_val_if_fail (TSR_IS_OPERATION (self), NULL);

  return self->detail;
}

/**
 * tsr_operation_complete:
 * @self: a #TsrOperation
 * @result: (nullable): what was made (the new VM's name), or %NULL on error
 * @notice: (nullable): what the user should know although it worked
 * @error: (nullable): why it failed; G_IO_ERROR_CANCELLED when cancelled
 *
 * Records the end and emits #TsrOperation::completed.
 */
void
tsr_operation_complete (TsrOperation *self,
                        const char   *result,
                        const char   *notice,
                        const GError *error)
{
  g_autoptr(TsrOperation) hold = NULL;

  g_return_if_fail (TSR_IS_OPERATION (self));
  g_return_if_fail (result != NULL || error != NULL);

  if (self->finished)
    return;

  hold = g_object_ref (self);
  self->finished = TRUE;
  self->result = g_strdup (result);
  self->notice = notice && *notice ? g_strdup (notice) : NULL;
  self->error = result == NULL && error != NULL ? g_error_copy (error) : NULL;
  if (result != NULL)
    set_fraction (self, 1);

  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_FINISHED]);
  g_signal_emit (self, signals[COMPLETED], 0);

  release_application (self);
}

gboolean
tsr_operation_get_finished (TsrOperation *self)
{
  g_return_val_if_fail (TSR_IS_OPERATION (self), FALSE);

  return self->finished;
}

const char *
tsr_operation_get_result (TsrOperation *self)
{
  g_return_val_if_fail (TSR_IS_OPERATION (self), NULL);

  return self->result;
}

const char *
tsr_operation_get_notice (TsrOperation *self)
{
  g_return_val_if_fail (TSR_IS_OPERATION (self), NULL);

  return self->notice;
}

const GError *
tsr_operation_get_error (TsrOperation *self)
{
  g_return_val_if_fail (TSR_IS_OPERATION (self), NULL);

  return self->error;
}

/* Ended because the user cancelled it; the core left nothing behind. */
gboolean
tsr_operation_was_cancelled (TsrOperation *self)
{
  g_return_val_if_fail (TSR_IS_OPERATION (self), FALSE);

  return self->error != NULL &&
         (g_error_matches (self->error, G_IO_ERROR, G_IO_ERROR_CANCELLED) ||
          g_error_matches (self->error, TSR_ERROR, TSR_ERROR_CANCELLED));
}

/* Whether someone has told the user how it ended. */
gboolean
tsr_operation_get_reported (TsrOperation *self)
{
  g_return_val_if_fail (TSR_IS_OPERATION (self), FALSE);

  return self->reported;
}

void
tsr_operation_set_reported (TsrOperation *self,
                            gboolean      reported)
{
  g_return_if_fail (TSR_IS_OPERATION (self));

  self->reported = !!reported;
}
