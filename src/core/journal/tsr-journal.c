/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <glib/gstdio.h>

#include "tsr-journal.h"

#define SHARED_DIR     "/var/lib/tessera/journal"
#define MAX_RECORD     (4 * 1024 * 1024)

struct _TsrJournal
{
  int        fd;     /* -1: kept in memory only */
  char      *path;
  GPtrArray *macs;   /* its reservations, also in inflight */
};

/* Reservations of this process's running operations, recorded or not
 * (libvirt's test driver, no folder to write): MAC -> count.
 */
static GMutex      inflight_lock;
static GHashTable *inflight;

static void
inflight_add (const char *mac)
{
  g_autoptr(GMutexLocker) locker = g_mutex_locker_new (&inflight_lock);
  char *key = g_ascii_strdown (mac, -1);

  if (inflight == NULL)
    inflight = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  g_hash_table_insert (inflight, key,
                       GUINT_TO_POINTER (GPOINTER_TO_UINT (g_hash_table_lookup (inflight, key)) + 1));
}

static void
inflight_remove (const char *mac)
{
  g_autoptr(GMutexLocker) locker = g_mutex_locker_new (&inflight_lock);
  g_autofree char *key = g_ascii_strdown (mac, -1);
  guint n = inflight ? GPOINTER_TO_UINT (g_hash_table_lookup (inflight, key)) : 0;

  if (n > 1)
    g_hash_table_insert (inflight, g_strdup (key), GUINT_TO_POINTER (n - 1));
  else if (n == 1)
    g_hash_table_remove (inflight, key);
}

void
tsr_journal_add_inflight (GHashTable *macs)
{
  g_autoptr(GMutexLocker) locker = g_mutex_locker_new (&inflight_lock);
  GHashTableIter iter;
  gpointer key;

  if (inflight == NULL)
    return;
  g_hash_table_iter_init (&iter, inflight);
  while (g_hash_table_iter_next (&iter, &key, NULL))
    g_hash_table_add (macs, g_strdup (key));
}

static TsrJournal *
in_memory (void)
{
  TsrJournal *self = g_new0 (TsrJournal, 1);

  self->fd = -1;
  self->macs = g_ptr_array_new_with_free_func (g_free);
  return self;
}

/* Where */

static gboolean
dir_writable (const char *dir)
{
  return g_file_test (dir, G_FILE_TEST_IS_DIR) && access (dir, W_OK | X_OK) == 0;
}

static char *
user_dir (void)
{
  return g_build_filename (g_get_user_state_dir (), "tessera", "journal", NULL);
}

char *
tsr_journal_dir (void)
{
  const char *env = g_getenv ("TESSERA_JOURNAL_DIR");
  g_autofree char *mine = NULL;

  if (env != NULL && *env != '\0')
    return g_strdup (env);
  if (dir_writable (SHARED_DIR))
    return g_strdup (SHARED_DIR);
  /* root makes the shared folder where its parent exists (setup does it
   * for the libvirt group: see build-aux/setup.sh).
   */
  if (geteuid () == 0 && g_file_test ("/var/lib/tessera", G_FILE_TEST_IS_DIR) &&
      g_mkdir (SHARED_DIR, 02775) == 0)
    {
      struct group *grp = getgrnam ("libvirt");

      if (grp != NULL && chown (SHARED_DIR, 0, grp->gr_gid) != 0)
        g_warning ("Could not give %s to the libvirt group: %s", SHARED_DIR, g_strerror (errno));
      g_chmod (SHARED_DIR, grp != NULL ? 02775 : 0755);
      return g_strdup (SHARED_DIR);
    }
  mine = user_dir ();
  if (g_mkdir_with_parents (mine, 0700) == 0)
    return g_steal_pointer (&mine);
  return NULL;
}

GStrv
tsr_journal_dirs_to_scan (void)
{
  const char *env = g_getenv ("TESSERA_JOURNAL_DIR");
  g_autoptr(GStrvBuilder) builder = g_strv_builder_new ();
  g_autofree char *mine = user_dir ();

  if (env != NULL && *env != '\0')
    g_strv_builder_add (builder, env);
  else
    {
      g_strv_builder_add (builder, SHARED_DIR);
      g_strv_builder_add (builder, mine);
    }
  return g_strv_builder_end (builder);
}

/* Writing */

/* Fields are escaped so that a line holds one intent whatever the names,
 * paths or definitions contain (tabs, newlines, any bytes).
 */
static void
append (TsrJournal  *self,
        const char  *kind,
        ...)
{
  g_autoptr(GString) line = g_string_new (kind);
  va_list args;
  const char *field;

  if (self == NULL || self->fd < 0)
    return;

  va_start (args, kind);
  while ((field = va_arg (args, const char *)) != NULL)
    {
      g_autofree char *escaped = g_strescape (field, NULL);

      g_string_append_c (line, '\t');
      g_string_append (line, escaped);
    }
  va_end (args);
  g_string_append_c (line, '\n');

  /* O_APPEND: one write() is one line. A line cut short by a crash has no
   * newline and is not read back: its change had not begun.
   */
  if (write (self->fd, line->str, line->len) != (gssize) line->len)
    g_warning ("Could not write the intent record %s: %s", self->path, g_strerror (errno));
  fdatasync (self->fd);
}

TsrJournal *
tsr_journal_begin (const char *uri,
                   const char *op,
                   const char *vm_name)
{
  g_autofree char *dir = tsr_journal_dir ();
  g_autofree char *tmp = NULL;
  g_autofree char *final = NULL;
  g_autofree char *pid = NULL;
  g_autofree char *started = NULL;
  g_autoptr(GDateTime) now = NULL;
  TsrJournal *self;
  int fd;

  if (dir == NULL)
    {
      g_message ("No folder for intent records could be written: an interrupted %s "
                 "will not be cleaned up by itself.", op);
      return in_memory ();
    }

  /* Made under a name scans skip, locked, then given its real name: no
   * other process ever sees it unlocked while this one runs.
   */
  tmp = g_strdup_printf ("%s/.new-%s-%d-XXXXXX", dir, op, (int) getpid ());
  fd = g_mkstemp_full (tmp, O_WRONLY | O_APPEND | O_CLOEXEC, 0664);
  if (fd < 0)
    {
      g_message ("Could not write an intent record in %s: %s", dir, g_strerror (errno));
      return in_memory ();
    }
  fchmod (fd, 0664);
  flock (fd, LOCK_EX);
  final = g_strdup_printf ("%s/%s-%d-%s.rec", dir, op, (int) getpid (),
                           strrchr (tmp, '-') + 1);
  if (g_rename (tmp, final) != 0)
    {
      g_unlink (tmp);
      close (fd);
      return in_memory ();
    }

  self = in_memory ();
  self->fd = fd;
  self->path = g_steal_pointer (&final);
  pid = g_strdup_printf ("%d", (int) getpid ());
  now = g_date_time_new_now_utc ();
  started = g_date_time_format_iso8601 (now);
  append (self, "op", op, vm_name ? vm_name : "", pid, started, NULL);
  append (self, "uri", uri ? uri : "", NULL);
  return self;
}

char *
tsr_journal_uri (virConnectPtr conn)
{
  char *uri = virConnectGetURI (conn);
  char *copy = g_strdup (uri);

  free (uri);
  return copy;
}

TsrJournal *
tsr_journal_begin_for (virConnectPtr  conn,
                       const char    *op,
                       const char    *vm_name)
{
  g_autofree char *uri = tsr_journal_uri (conn);

  if (uri == NULL || (g_str_has_prefix (uri, "test:") && g_getenv ("TESSERA_JOURNAL_DIR") == NULL))
    return in_memory ();
  return tsr_journal_begin (uri, op, vm_name);
}

void
tsr_journal_defines (TsrJournal *self,
                     const char *uuid)
{
  append (self, "defines", uuid, NULL);
}

void
tsr_journal_removes (TsrJournal *self,
                     const char *uuid)
{
  append (self, "removes", uuid, NULL);
}

void
tsr_journal_volume (TsrJournal *self,
                    const char *pool,
                    const char *name,
                    const char *path)
{
  append (self, "volume", pool ? pool : "", name ? name : "", path ? path : "", NULL);
}

void
tsr_journal_file (TsrJournal *self,
                  const char *path)
{
  append (self, "file", path, NULL);
}

void
tsr_journal_moved (TsrJournal *self,
                   const char *from,
                   const char *to)
{
  if (from != NULL && to != NULL)
    append (self, "moved", from, to, NULL);
}

void
tsr_journal_temp (TsrJournal *self,
                  const char *path)
{
  append (self, "temp", path, NULL);
}

void
tsr_journal_reservation (TsrJournal *self,
                         const char *network,
                         const char *mac)
{
  if (self == NULL || mac == NULL)
    return;
  g_ptr_array_add (self->macs, g_strdup (mac));
  inflight_add (mac);
  append (self, "reservation", network, mac, NULL);
}

void
tsr_journal_held (TsrJournal *self,
                  const char *network,
                  const char *mac,
                  const char *ip,
                  const char *name)
{
  if (ip != NULL)
    append (self, "held", network, mac, ip, name ? name : "", NULL);
}

void
tsr_journal_restore (TsrJournal *self,
                     const char *uuid,
                     const char *xml)
{
  append (self, "restore", uuid, xml, NULL);
}

void
tsr_journal_mode (TsrJournal *self,
                  const char *path,
                  guint       mode)
{
  g_autofree char *octal = g_strdup_printf ("%o", mode & 07777);

  append (self, "mode", path, octal, NULL);
}

void
tsr_journal_commit (TsrJournal *self)
{
  append (self, "commit", NULL);
}

static void
journal_free (TsrJournal *self)
{
  for (guint i = 0; i < self->macs->len; i++)
    inflight_remove (g_ptr_array_index (self->macs, i));
  g_ptr_array_unref (self->macs);
  if (self->fd >= 0)
    close (self->fd);
  g_free (self->path);
  g_free (self);
}

void
tsr_journal_end (TsrJournal *self)
{
  if (self == NULL)
    return;
  if (self->path != NULL)
    g_unlink (self->path);
  journal_free (self);
}

void
tsr_journal_end_on (TsrJournal    *self,
                    virConnectPtr  conn)
{
  if (conn != NULL && virConnectIsAlive (conn) != 1)
    tsr_journal_forget (self);
  else
    tsr_journal_end (self);
}

void
tsr_journal_forget (TsrJournal *self)
{
  if (self == NULL)
    return;
  journal_free (self);
}

void
tsr_journal_step (const char *step)
{
  const char *crash = g_getenv ("TESSERA_TEST_CRASH_AT");
  const char *pause_at = g_getenv ("TESSERA_TEST_PAUSE_AT");

  if (crash != NULL && g_strcmp0 (crash, step) == 0)
    kill (getpid (), SIGKILL);
  if (pause_at != NULL && g_strcmp0 (pause_at, step) == 0)
    {
      g_printerr ("tessera: paused at %s\n", step);
      raise (SIGSTOP);
    }
}

/* Reading */

static void volume_free (gpointer p) { TsrJournalVolume *v = p; g_free (v->pool); g_free (v->name); g_free (v->path); g_free (v); }
static void reservation_free (gpointer p) { TsrJournalReservation *r = p; g_free (r->network); g_free (r->mac); g_free (r->ip); g_free (r->name); g_free (r); }
static void restore_free (gpointer p) { TsrJournalRestore *r = p; g_free (r->uuid); g_free (r->xml); g_free (r); }
static void mode_free (gpointer p) { TsrJournalMode *m = p; g_free (m->path); g_free (m); }
static void move_free (gpointer p) { TsrJournalMove *m = p; g_free (m->from); g_free (m->to); g_free (m); }

void
tsr_journal_record_free (TsrJournalRecord *record)
{
  if (record == NULL)
    return;
  g_free (record->path);
  g_free (record->uri);
  g_free (record->op);
  g_free (record->vm_name);
  g_free (record->pid);
  g_ptr_array_unref (record->defines);
  g_ptr_array_unref (record->removes);
  g_ptr_array_unref (record->volumes);
  g_ptr_array_unref (record->files);
  g_ptr_array_unref (record->temps);
  g_ptr_array_unref (record->reservations);
  g_ptr_array_unref (record->held);
  g_ptr_array_unref (record->restores);
  g_ptr_array_unref (record->modes);
  g_ptr_array_unref (record->moves);
  g_free (record);
}

static gboolean
parse_line (TsrJournalRecord *record,
            GStrv             f,
            guint             n)
{
  const char *kind = f[0];

  if (g_str_equal (kind, "op") && n >= 4)
    {
      g_free (record->op);
      record->op = g_strdup (f[1]);
      record->vm_name = g_strdup (f[2]);
      record->pid = g_strdup (f[3]);
    }
  else if (g_str_equal (kind, "uri") && n >= 2)
    record->uri = g_strdup (f[1]);
  else if (g_str_equal (kind, "defines") && n >= 2)
    g_ptr_array_add (record->defines, g_strdup (f[1]));
  else if (g_str_equal (kind, "removes") && n >= 2)
    g_ptr_array_add (record->removes, g_strdup (f[1]));
  else if (g_str_equal (kind, "volume") && n >= 4)
    {
      TsrJournalVolume *v = g_new0 (TsrJournalVolume, 1);

      v->pool = g_strdup (f[1]);
      v->name = g_strdup (f[2]);
      v->path = g_strdup (f[3]);
      g_ptr_array_add (record->volumes, v);
    }
  else if (g_str_equal (kind, "file") && n >= 2)
    g_ptr_array_add (record->files, g_strdup (f[1]));
  else if (g_str_equal (kind, "temp") && n >= 2)
    g_ptr_array_add (record->temps, g_strdup (f[1]));
  else if (g_str_equal (kind, "reservation") && n >= 3)
    {
      TsrJournalReservation *r = g_new0 (TsrJournalReservation, 1);

      r->network = g_strdup (f[1]);
      r->mac = g_strdup (f[2]);
      g_ptr_array_add (record->reservations, r);
    }
  else if (g_str_equal (kind, "held") && n >= 5)
    {
      TsrJournalReservation *r = g_new0 (TsrJournalReservation, 1);

      r->network = g_strdup (f[1]);
      r->mac = g_strdup (f[2]);
      r->ip = g_strdup (f[3]);
      r->name = *f[4] ? g_strdup (f[4]) : NULL;
      g_ptr_array_add (record->held, r);
    }
  else if (g_str_equal (kind, "restore") && n >= 3)
    {
      TsrJournalRestore *r = g_new0 (TsrJournalRestore, 1);

      r->uuid = g_strdup (f[1]);
      r->xml = g_strdup (f[2]);
      g_ptr_array_add (record->restores, r);
    }
  else if (g_str_equal (kind, "mode") && n >= 3)
    {
      TsrJournalMode *m = g_new0 (TsrJournalMode, 1);

      m->path = g_strdup (f[1]);
      m->mode = (guint) g_ascii_strtoull (f[2], NULL, 8) & 07777;
      g_ptr_array_add (record->modes, m);
    }
  else if (g_str_equal (kind, "moved") && n >= 3)
    {
      TsrJournalMove *m = g_new0 (TsrJournalMove, 1);

      m->from = g_strdup (f[1]);
      m->to = g_strdup (f[2]);
      g_ptr_array_add (record->moves, m);
    }
  else if (g_str_equal (kind, "commit"))
    record->committed = TRUE;
  else
    return FALSE;
  return TRUE;
}

TsrJournalRecord *
tsr_journal_record_parse (const char *text,
                          gsize       length)
{
  g_autoptr(TsrJournalRecord) record = g_new0 (TsrJournalRecord, 1);
  const char *p = text, *end = text + length;

  record->defines = g_ptr_array_new_with_free_func (g_free);
  record->removes = g_ptr_array_new_with_free_func (g_free);
  record->volumes = g_ptr_array_new_with_free_func (volume_free);
  record->files = g_ptr_array_new_with_free_func (g_free);
  record->temps = g_ptr_array_new_with_free_func (g_free);
  record->reservations = g_ptr_array_new_with_free_func (reservation_free);
  record->held = g_ptr_array_new_with_free_func (reservation_free);
  record->restores = g_ptr_array_new_with_free_func (restore_free);
  record->modes = g_ptr_array_new_with_free_func (mode_free);
  record->moves = g_ptr_array_new_with_free_func (move_free);

  while (p < end)
    {
      const char *nl = memchr (p, '\n', end - p);
      g_autofree char *raw = NULL;
      g_auto(GStrv) fields = NULL;
      guint n;

      if (nl == NULL)
        break;  /* cut short: its change had not begun */
      raw = g_strndup (p, nl - p);
      p = nl + 1;
      fields = g_strsplit (raw, "\t", -1);
      n = g_strv_length (fields);
      for (guint i = 1; i < n; i++)
        {
          char *plain = g_strcompress (fields[i]);

          g_free (fields[i]);
          fields[i] = plain;
        }
      if (n > 0)
        parse_line (record, fields, n);
    }

  if (record->op == NULL)
    return NULL;
  return g_steal_pointer (&record);
}

/* Scanning */

static TsrJournalRecord *
read_record (int         fd,
             const char *path)
{
  g_autofree char *text = NULL;
  struct stat st;
  gssize got;
  TsrJournalRecord *record;

  if (fstat (fd, &st) != 0 || st.st_size > MAX_RECORD || st.st_nlink == 0)
    return NULL;
  text = g_malloc (st.st_size + 1);
  got = pread (fd, text, st.st_size, 0);
  if (got < 0)
    return NULL;
  text[got] = '\0';
  record = tsr_journal_record_parse (text, got);
  if (record != NULL)
    record->path = g_strdup (path);
  return record;
}

static void
scan_dir (const char            *dir,
          GPtrArray             *live,
          TsrJournalRecoverFunc  func,
          gpointer               user_data)
{
  g_autoptr(GDir) d = g_dir_open (dir, 0, NULL);
  const char *entry;

  while (d != NULL && (entry = g_dir_read_name (d)) != NULL)
    {
      g_autofree char *path = NULL;
      g_autoptr(TsrJournalRecord) record = NULL;
      int fd;

      path = g_build_filename (dir, entry, NULL);
      if (g_str_has_prefix (entry, ".new-"))
        {
          /* Made by a process that died before its first line (one that
           * is being made now is young, and soon locked).
           */
          struct stat st;

          fd = open (path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
          if (fd >= 0 && fstat (fd, &st) == 0 && st.st_mtime + 60 < time (NULL) &&
              flock (fd, LOCK_EX | LOCK_NB) == 0)
            g_unlink (path);
          if (fd >= 0)
            close (fd);
          continue;
        }
      if (!g_str_has_suffix (entry, ".rec"))
        continue;
      fd = open (path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
      if (fd < 0)
        continue;

      if (flock (fd, LOCK_EX | LOCK_NB) != 0)
        {
          /* Its process runs (or another one is recovering it). */
          record = live != NULL ? read_record (fd, path) : NULL;
          if (record != NULL)
            g_ptr_array_add (live, g_steal_pointer (&record));
          close (fd);
          continue;
        }

      /* Gone meanwhile: recovered by a process that held it before us. */
      record = func != NULL ? read_record (fd, path) : NULL;
      if (record != NULL && func (record, user_data))
        g_unlink (path);
      close (fd);
    }
}

void
tsr_journal_scan (const char * const    *dirs,
                  GPtrArray             *live,
                  TsrJournalRecoverFunc  func,
                  gpointer               user_data)
{
  for (guint i = 0; dirs != NULL && dirs[i] != NULL; i++)
    scan_dir (dirs[i], live, func, user_data);
}
