/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "config.h"

#include <glib/gi18n-lib.h>
#include <libvirt/libvirt.h>
#include <libvirt/virterror.h>

#include "tsr-connection-private.h"
#include "tsr-error.h"
#include "tsr-libvirt-private.h"
#include "tsr-serial.h"
#include "tsr-task.h"
#include "tsr-threads.h"
#include "tsr-xml-private.h"

/* A serial console is a non-blocking virStream. Opening it (lookup,
 * virDomainOpenConsole) is a round trip, done in a worker. After that
 * everything runs on the main context, where libvirt-glib dispatches
 * libvirt's events: the stream's callback reads whatever arrived until
 * libvirt says it would block, and writes the queue only while there is
 * something to write (libvirt reports a remote stream as writable on every
 * iteration, so asking for WRITABLE with nothing queued would spin).
 * virStreamRecv and virStreamSend on a non-blocking stream only move
 * buffers; ending the stream (virStreamFinish, virStreamAbort) waits for
 * the daemon, so it happens in a worker.
 */

/* At most this much is read per event, so that a guest that floods its
 * serial port cannot starve the rest of the main loop: libvirt calls back
 * again on the next iteration while data is waiting.
 */
#define MAX_READ_PER_EVENT (256 * 1024)
#define READ_CHUNK         (64 * 1024)

struct _TsrSerial
{
  GObject       parent_instance;

  char         *name;
  virStreamPtr  stream;      /* NULL once closed */
  GWeakRef     *cb_ref;      /* the event callback's opaque data, owned by libvirt */
  int           events;      /* what the callback is registered for */
  GByteArray   *outgoing;
};

enum {
  PROP_0,
  PROP_OPEN,
  N_PROPS
};

enum {
  RECEIVED,
  CLOSED,
  N_SIGNALS
};

static GParamSpec *properties[N_PROPS];
static guint signals[N_SIGNALS];

G_DEFINE_FINAL_TYPE (TsrSerial, tsr_serial, G_TYPE_OBJECT)

/* Ending a stream */

typedef struct
{
  virStreamPtr stream;
  gboolean     finish;
} EndJob;

static void
end_job_run (gpointer job_data,
             gpointer unused)
{
  EndJob *job = job_data;

  /* After EOF the daemon expects a finish; anything else is cut short. A
   * stream that already failed refuses either, which changes nothing.
   */
  if (!job->finish || virStreamFinish (job->stream) < 0)
    virStreamAbort (job->stream);
  virResetLastError ();
  /* The stream holds a reference on its connection: the last one closes
   * it, another round trip.
   */
  virStreamFree (job->stream);
  g_free (job);
}

static void
end_stream (virStreamPtr stream,
            gboolean     finish)
{
  static gsize created = 0;
  static GThreadPool *enders = NULL;
  EndJob *job;

  if (g_once_init_enter (&created))
    {
      enders = g_thread_pool_new (end_job_run, NULL, 2, FALSE, NULL);
      g_once_init_leave (&created, 1);
    }

  job = g_new0 (EndJob, 1);
  job->stream = stream;
  job->finish = finish;
  g_thread_pool_push (enders, job, NULL);
}

static void
abort_stream (gpointer stream)
{
  end_stream (stream, FALSE);
}

/* Stops watching and hands the stream to a worker; emits "closed" with
 * ERROR (NULL for a clean end) when EMIT is set. Safe to call again.
 */
static void
tsr_serial_end (TsrSerial    *self,
                gboolean      finish,
                const GError *error,
                gboolean      emit)
{
  virStreamPtr stream = g_steal_pointer (&self->stream);

  if (stream == NULL)
    return;

  /* libvirt frees the callback's data (cb_ref) itself. */
  if (self->cb_ref != NULL)
    virStreamEventRemoveCallback (stream);
  self->cb_ref = NULL;
  end_stream (stream, finish);
  g_byte_array_set_size (self->outgoing, 0);

  if (emit)
    {
      g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_OPEN]);
      g_signal_emit (self, signals[CLOSED], 0, error);
    }
}

/* Driving the stream on the main context */

/* libvirt says only "stream had I/O failure" both when the connection
 * broke and when another client took the console over (FORCE): the
 * message names both, without the hints of a failed call.
 */
static void
tsr_serial_fail (TsrSerial  *self,
                 const char *what)
{
  g_autoptr(GError) error = NULL;

  /* The call that failed ran in this thread, which holds its error. */
  error = g_error_new (TSR_ERROR, TSR_ERROR_CONNECTION,
                       _("%s: %s (another client may have taken it over, or the connection "
                         "to libvirt broke)"), what, virGetLastErrorMessage ());
  virResetLastError ();
  g_object_ref (self);
  tsr_serial_end (self, FALSE, error, TRUE);
  g_object_unref (self);
}

static void
tsr_serial_update_events (TsrSerial *self)
{
  int events = VIR_STREAM_EVENT_READABLE;

  if (self->outgoing->len > 0)
    events |= VIR_STREAM_EVENT_WRITABLE;
  if (self->stream == NULL || self->cb_ref == NULL || events == self->events)
    return;
  self->events = events;
  virStreamEventUpdateCallback (self->stream, events);
}

/* FALSE when the stream ended (and "closed" was emitted). */
static gboolean
tsr_serial_read (TsrSerial *self)
{
  g_autoptr(GByteArray) got = g_byte_array_new ();
  gboolean ended = FALSE;
  int n = 0;

  while (got->len < MAX_READ_PER_EVENT)
    {
      guint before = got->len;

      g_byte_array_set_size (got, before + READ_CHUNK);
      n = virStreamRecv (self->stream, (char *) got->data + before, READ_CHUNK);
      g_byte_array_set_size (got, before + MAX (n, 0));
      if (n <= 0)
        break;
    }

  if (got->len > 0)
    {
      g_autoptr(GBytes) bytes = g_byte_array_free_to_bytes (g_steal_pointer (&got));

      g_signal_emit (self, signals[RECEIVED], 0, bytes);
      /* A handler may have closed the console. */
      if (self->stream == NULL)
        return FALSE;
    }

  if (n == 0)
    {
      /* EOF: the guest's end went away, that is, the guest stopped. */
      tsr_serial_end (self, TRUE, NULL, TRUE);
      ended = TRUE;
    }
  else if (n == -1)
    {
      tsr_serial_fail (self, _("The serial console was closed from the other end"));
      ended = TRUE;
    }

  return !ended;
}

/* FALSE when the stream broke (and "closed" was emitted). */
static gboolean
tsr_serial_flush (TsrSerial *self)
{
  while (self->outgoing->len > 0)
    {
      int n = virStreamSend (self->stream, (const char *) self->outgoing->data,
                             self->outgoing->len);

      if (n == -2)
        break;
      if (n < 0)
        {
          tsr_serial_fail (self, _("Could not write to the serial console"));
          return FALSE;
        }
      g_byte_array_remove_range (self->outgoing, 0, n);
    }

  return TRUE;
}

static void
tsr_serial_stream_event_cb (virStreamPtr  stream,
                            int           events,
                            void         *opaque)
{
  g_autoptr(TsrSerial) self = g_weak_ref_get (opaque);

  if (self == NULL || self->stream != stream)
    return;

  if ((events & VIR_STREAM_EVENT_READABLE) && !tsr_serial_read (self))
    return;
  if ((events & VIR_STREAM_EVENT_WRITABLE) && !tsr_serial_flush (self))
    return;

  if (events & VIR_STREAM_EVENT_ERROR)
    {
      g_autoptr(GError) error = g_error_new_literal (TSR_ERROR, TSR_ERROR_CONNECTION,
                                                     _("The connection to the serial console "
                                                       "broke"));

      tsr_serial_end (self, FALSE, error, TRUE);
      return;
    }
  if (events & VIR_STREAM_EVENT_HANGUP)
    {
      tsr_serial_end (self, FALSE, NULL, TRUE);
      return;
    }

  tsr_serial_update_events (self);
}

static void
weak_ref_free (void *data)
{
  GWeakRef *ref = data;

  g_weak_ref_clear (ref);
  g_free (ref);
}

/* Takes STREAM. FALSE, with ERROR set, when libvirt refused the watch. */
static gboolean
tsr_serial_watch (TsrSerial     *self,
                  virStreamPtr   stream,
                  GError       **error)
{
  GWeakRef *ref = g_new0 (GWeakRef, 1);

  self->stream = stream;
  g_weak_ref_init (ref, self);
  self->events = VIR_STREAM_EVENT_READABLE;
  if (virStreamEventAddCallback (stream, self->events, tsr_serial_stream_event_cb, ref,
                                 weak_ref_free) < 0)
    {
      tsr_error_set_from_libvirt (error, _("Could not watch the serial console"));
      weak_ref_free (ref);
      tsr_serial_end (self, FALSE, NULL, FALSE);
      return FALSE;
    }

  self->cb_ref = ref;
  return TRUE;
}

/* The object */

static void
tsr_serial_dispose (GObject *object)
{
  TsrSerial *self = TSR_SERIAL (object);

  tsr_serial_end (self, FALSE, NULL, FALSE);

  G_OBJECT_CLASS (tsr_serial_parent_class)->dispose (object);
}

static void
tsr_serial_finalize (GObject *object)
{
  TsrSerial *self = TSR_SERIAL (object);

  g_free (self->name);
  g_byte_array_unref (self->outgoing);

  G_OBJECT_CLASS (tsr_serial_parent_class)->finalize (object);
}

static void
tsr_serial_get_property (GObject    *object,
                         guint       prop_id,
                         GValue     *value,
                         GParamSpec *pspec)
{
  TsrSerial *self = TSR_SERIAL (object);

  switch (prop_id)
    {
    case PROP_OPEN:
      g_value_set_boolean (value, tsr_serial_get_open (self));
      break;

    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
tsr_serial_class_init (TsrSerialClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);

  object_class->dispose = tsr_serial_dispose;
  object_class->finalize = tsr_serial_finalize;
  object_class->get_property = tsr_serial_get_property;

  properties[PROP_OPEN] =
    g_param_spec_boolean ("open", NULL, NULL, FALSE,
                          G_PARAM_READABLE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);
  g_object_class_install_properties (object_class, N_PROPS, properties);

  signals[RECEIVED] =
    g_signal_new ("received", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST, 0, NULL, NULL,
                  NULL, G_TYPE_NONE, 1, G_TYPE_BYTES);
  /* The error is only lent for the emission, not copied. */
  signals[CLOSED] =
    g_signal_new ("closed", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST, 0, NULL, NULL,
                  NULL, G_TYPE_NONE, 1, G_TYPE_ERROR | G_SIGNAL_TYPE_STATIC_SCOPE);
}

static void
tsr_serial_init (TsrSerial *self)
{
  self->outgoing = g_byte_array_new ();
}

/* Opening, in a worker */

typedef struct
{
  TsrCall  call;
  char    *name;
} OpenData;

static void
open_data_clear (gpointer data)
{
  OpenData *open = data;

  g_free (open->name);
}

/* The device virDomainOpenConsole picks when given no name: the first
 * <console>, else the first <serial>. Only a pty can be opened.
 */
static gboolean
check_console_device (virDomainPtr   dom,
                      const char    *name,
                      GError       **error)
{
  g_autofree char *xml = virDomainGetXMLDesc (dom, 0);
  g_autoptr(xmlDoc) doc = NULL;
  g_autofree char *type = NULL;
  xmlNodePtr devices, chardev;

  if (xml == NULL)
    {
      tsr_error_set_from_libvirt (error, _("Could not read the VM’s definition"));
      return FALSE;
    }

  doc = tsr_xml_parse (xml);
  devices = doc ? tsr_xml_child (xmlDocGetRootElement (doc), "devices") : NULL;
  chardev = tsr_xml_child (devices, "console");
  if (chardev == NULL)
    chardev = tsr_xml_child (devices, "serial");
  if (chardev == NULL)
    {
      g_set_error (error, TSR_ERROR, TSR_ERROR_NOT_SUPPORTED,
                   _("“%s” has no serial console: add a serial port (a pty) to it while it "
                     "is shut down, then start it again"), name);
      return FALSE;
    }

  type = tsr_xml_prop (chardev, "type");
  if (g_strcmp0 (type, "pty") != 0)
    {
      g_set_error (error, TSR_ERROR, TSR_ERROR_NOT_SUPPORTED,
                   _("The serial console of “%s” is connected to a %s, not to a pty, so it "
                     "cannot be opened here"), name, type != NULL ? type : "?");
      return FALSE;
    }

  return TRUE;
}

static gpointer
open_console_thread (gpointer       task_data,
                     GCancellable  *cancellable,
                     GError       **error)
{
  OpenData *data = task_data;
  g_autoptr(virDomain) dom = NULL;
  g_autoptr(virStream) stream = NULL;
  int active;

  tsr_assert_worker_thread ();

  if (!(dom = tsr_domain_lookup_by_uuid (data->call.conn, data->call.uuid,
                                         data->call.name, error)))
    return NULL;

  active = virDomainIsActive (dom);
  if (active < 0)
    {
      tsr_error_set_from_libvirt (error, _("Could not read the VM’s state"));
      return NULL;
    }
  if (active == 0)
    {
      g_set_error (error, TSR_ERROR, TSR_ERROR_VM_NOT_RUNNING,
                   _("“%s” is not running: start it first (qvm-start %s)"), data->name,
                   data->name);
      return NULL;
    }

  if (!check_console_device (dom, data->name, error))
    return NULL;

  if (!(stream = virStreamNew (data->call.conn, VIR_STREAM_NONBLOCK)))
    {
      tsr_error_set_from_libvirt (error, _("Could not open a stream to the serial console"));
      return NULL;
    }

  /* FORCE takes the console over from another client (another Tessera,
   * virsh console, virt-manager), as virt-manager does: a console
   * left open elsewhere would otherwise lock the user out of it.
   */
  if (virDomainOpenConsole (dom, NULL, stream, VIR_DOMAIN_CONSOLE_FORCE) < 0)
    {
      g_autofree char *what = g_strdup_printf (_("Could not open the serial console of “%s”"),
                                               data->name);

      tsr_error_set_from_libvirt (error, what);
      return NULL;
    }

  return g_steal_pointer (&stream);
}

void
tsr_serial_open_async (TsrConnection       *conn,
                       TsrVm               *vm,
                       GCancellable        *cancellable,
                       GAsyncReadyCallback  callback,
                       gpointer             user_data)
{
  g_autoptr(GTask) task = NULL;
  OpenData *data;

  g_return_if_fail (TSR_IS_CONNECTION (conn));
  g_return_if_fail (TSR_IS_VM (vm));

  data = tsr_connection_call_new (conn, vm, sizeof (OpenData), open_data_clear,
                                  tsr_serial_open_async, cancellable, callback, user_data,
                                  &task);
  if (data == NULL)
    return;

  data->name = g_strdup (tsr_vm_get_name (vm));
  tsr_task_run_value_in_thread (task, open_console_thread, abort_stream);
}

TsrSerial *
tsr_serial_open_finish (TsrConnection  *conn,
                        GAsyncResult   *result,
                        GError        **error)
{
  g_autoptr(TsrSerial) self = NULL;
  OpenData *data;
  virStreamPtr stream;

  g_return_val_if_fail (TSR_IS_CONNECTION (conn), NULL);
  g_return_val_if_fail (g_task_is_valid (result, conn), NULL);

  if (!(stream = g_task_propagate_pointer (G_TASK (result), error)))
    return NULL;

  data = g_task_get_task_data (G_TASK (result));
  self = g_object_new (TSR_TYPE_SERIAL, NULL);
  self->name = g_strdup (data->name);
  if (!tsr_serial_watch (self, stream, error))
    return NULL;

  return g_steal_pointer (&self);
}

/* Use */

void
tsr_serial_write (TsrSerial  *self,
                  const void *data,
                  gsize       len)
{
  g_return_if_fail (TSR_IS_SERIAL (self));
  g_return_if_fail (data != NULL || len == 0);

  if (self->stream == NULL || len == 0)
    return;

  g_byte_array_append (self->outgoing, data, len);
  tsr_serial_update_events (self);
}

void
tsr_serial_close (TsrSerial *self)
{
  g_return_if_fail (TSR_IS_SERIAL (self));

  g_object_ref (self);
  tsr_serial_end (self, FALSE, NULL, TRUE);
  g_object_unref (self);
}

gboolean
tsr_serial_get_open (TsrSerial *self)
{
  g_return_val_if_fail (TSR_IS_SERIAL (self), FALSE);

  return self->stream != NULL;
}

const char *
tsr_serial_get_name (TsrSerial *self)
{
  g_return_val_if_fail (TSR_IS_SERIAL (self), NULL);

  return self->name;
}

gsize
tsr_serial_get_pending (TsrSerial *self)
{
  g_return_val_if_fail (TSR_IS_SERIAL (self), 0);

  return self->outgoing->len;
}
