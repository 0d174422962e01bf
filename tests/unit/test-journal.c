/* SPDX-License-Identifier: GPL-3.0-or-later */
/* Intent records: what is written reads back the same whatever the names
 * hold, a line cut short by a crash is not read, a record whose process
 * runs is live and one whose process is gone is handed to recovery exactly
 * once, by one process.
 */
#include "config.h"

#include <signal.h>
#include <unistd.h>
#include <sys/wait.h>
#include <glib/gstdio.h>

#include "tsr-journal.h"

static char *dir;

static guint
count_records (void)
{
  g_autoptr(GDir) d = g_dir_open (dir, 0, NULL);
  const char *entry;
  guint n = 0;

  while ((entry = g_dir_read_name (d)) != NULL)
    n += g_str_has_suffix (entry, ".rec");
  return n;
}

static gboolean
keep_cb (TsrJournalRecord *record,
         gpointer          user_data)
{
  GPtrArray *seen = user_data;

  g_ptr_array_add (seen, g_strdup (record->vm_name));
  return FALSE;
}

static gboolean
take_cb (TsrJournalRecord *record,
         gpointer          user_data)
{
  GPtrArray *seen = user_data;

  g_ptr_array_add (seen, g_strdup (record->vm_name));
  return TRUE;
}

/* Names with tabs, newlines, quotes and non-ASCII come back intact. */
static void
test_round_trip (void)
{
  const char *odd = "a\tb\nc \"d\" <é> \\ 🙂";
  TsrJournal *journal = tsr_journal_begin ("qemu:///system", "clone", odd);
  g_autoptr(GPtrArray) live = g_ptr_array_new_with_free_func ((GDestroyNotify) tsr_journal_record_free);
  TsrJournalRecord *r;

  tsr_journal_defines (journal, odd);
  tsr_journal_volume (journal, "pool", odd, "/p/x");
  tsr_journal_reservation (journal, "tessera", "52:54:00:AA:bb:01");
  tsr_journal_held (journal, "tessera", "52:54:00:aa:bb:02", "10.137.0.9", odd);
  tsr_journal_restore (journal, "6b1e5c2a-0000-4000-8000-000000000001", "<domain>\n\t<name>x</name>\n</domain>");
  tsr_journal_mode (journal, "/p/base", 0100644);
  tsr_journal_moved (journal, "/home/u/a.img", "/p/a.img");
  tsr_journal_temp (journal, "/var/tmp/tessera-import-x");
  tsr_journal_file (journal, "/nvram/x_VARS.fd");

  /* While this process holds it, it is live: readable, not recoverable. */
  tsr_journal_scan ((const char *[]) { dir, NULL }, live, take_cb, NULL);
  g_assert_cmpuint (live->len, ==, 1);
  r = g_ptr_array_index (live, 0);
  g_assert_cmpstr (r->op, ==, "clone");
  g_assert_cmpstr (r->vm_name, ==, odd);
  g_assert_cmpstr (r->uri, ==, "qemu:///system");
  g_assert_cmpstr (g_ptr_array_index (r->defines, 0), ==, odd);
  g_assert_cmpstr (((TsrJournalVolume *) g_ptr_array_index (r->volumes, 0))->name, ==, odd);
  g_assert_cmpstr (((TsrJournalReservation *) g_ptr_array_index (r->reservations, 0))->mac, ==,
                   "52:54:00:AA:bb:01");
  g_assert_cmpstr (((TsrJournalReservation *) g_ptr_array_index (r->held, 0))->ip, ==, "10.137.0.9");
  g_assert_cmpstr (((TsrJournalReservation *) g_ptr_array_index (r->held, 0))->name, ==, odd);
  g_assert_cmpstr (((TsrJournalRestore *) g_ptr_array_index (r->restores, 0))->xml, ==,
                   "<domain>\n\t<name>x</name>\n</domain>");
  g_assert_cmpuint (((TsrJournalMode *) g_ptr_array_index (r->modes, 0))->mode, ==, 0644);
  g_assert_cmpstr (((TsrJournalMove *) g_ptr_array_index (r->moves, 0))->to, ==, "/p/a.img");
  g_assert_cmpstr (g_ptr_array_index (r->temps, 0), ==, "/var/tmp/tessera-import-x");
  g_assert_cmpstr (g_ptr_array_index (r->files, 0), ==, "/nvram/x_VARS.fd");
  g_assert_false (r->committed);

  tsr_journal_commit (journal);
  g_ptr_array_set_size (live, 0);
  tsr_journal_scan ((const char *[]) { dir, NULL }, live, NULL, NULL);
  g_assert_true (((TsrJournalRecord *) g_ptr_array_index (live, 0))->committed);

  /* Ended: gone. */
  tsr_journal_end (journal);
  g_assert_cmpuint (count_records (), ==, 0);
}

/* A line without its newline (the write a crash cut) is not read. */
static void
test_partial_line (void)
{
  const char *text = "op\tcreate\tvm1\t42\tnow\nuri\tqemu:///system\nvolume\tp\tvm1-root\t\nreservation\ttessera\t52:54";
  g_autoptr(TsrJournalRecord) r = tsr_journal_record_parse (text, strlen (text));

  g_assert_nonnull (r);
  g_assert_cmpuint (r->volumes->len, ==, 1);
  g_assert_cmpuint (r->reservations->len, ==, 0);
  /* No header, no record. */
  g_assert_null (tsr_journal_record_parse ("volume\tp\tv\t\n", 12));
  g_assert_null (tsr_journal_record_parse ("", 0));
}

/* A record whose process died is recovered once; it goes only when the
 * recovery says it is done.
 */
static void
test_dead_process (void)
{
  g_autoptr(GPtrArray) seen = g_ptr_array_new_with_free_func (g_free);
  g_autoptr(GPtrArray) live = g_ptr_array_new_with_free_func ((GDestroyNotify) tsr_journal_record_free);
  TsrJournal *mine;
  pid_t pid;
  int status;

  /* A child writes a record and is killed in the middle. */
  pid = fork ();
  g_assert_cmpint (pid, >=, 0);
  if (pid == 0)
    {
      TsrJournal *journal = tsr_journal_begin ("qemu:///system", "create", "dead");

      tsr_journal_reservation (journal, "tessera", "52:54:00:00:00:0d");
      kill (getpid (), SIGKILL);
      _exit (0);
    }
  g_assert_cmpint (waitpid (pid, &status, 0), ==, pid);
  g_assert_true (WIFSIGNALED (status));

  /* And this process has one running. */
  mine = tsr_journal_begin ("qemu:///system", "clone", "alive");
  tsr_journal_reservation (mine, "tessera", "52:54:00:00:00:0a");
  g_assert_cmpuint (count_records (), ==, 2);

  /* Not done yet: it stays. */
  tsr_journal_scan ((const char *[]) { dir, NULL }, live, keep_cb, seen);
  g_assert_cmpuint (seen->len, ==, 1);
  g_assert_cmpstr (g_ptr_array_index (seen, 0), ==, "dead");
  g_assert_cmpuint (live->len, ==, 1);
  g_assert_cmpstr (((TsrJournalRecord *) g_ptr_array_index (live, 0))->vm_name, ==, "alive");
  g_assert_cmpuint (count_records (), ==, 2);

  /* Done: it goes; the live one stays. */
  g_ptr_array_set_size (seen, 0);
  tsr_journal_scan ((const char *[]) { dir, NULL }, NULL, take_cb, seen);
  g_assert_cmpuint (seen->len, ==, 1);
  g_assert_cmpuint (count_records (), ==, 1);
  g_ptr_array_set_size (seen, 0);
  tsr_journal_scan ((const char *[]) { dir, NULL }, NULL, take_cb, seen);
  g_assert_cmpuint (seen->len, ==, 0);

  /* This process's reservations are in flight until its record ends. */
  {
    g_autoptr(GHashTable) macs = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);

    tsr_journal_add_inflight (macs);
    g_assert_true (g_hash_table_contains (macs, "52:54:00:00:00:0a"));
    g_assert_false (g_hash_table_contains (macs, "52:54:00:00:00:0d"));
    tsr_journal_end (mine);
    g_hash_table_remove_all (macs);
    tsr_journal_add_inflight (macs);
    g_assert_false (g_hash_table_contains (macs, "52:54:00:00:00:0a"));
  }
  g_assert_cmpuint (count_records (), ==, 0);
}

/* Where nothing may be written, the operation still runs, in memory. */
static void
test_no_folder (void)
{
  TsrJournal *journal;
  g_autoptr(GHashTable) macs = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);

  g_setenv ("TESSERA_JOURNAL_DIR", "/nonexistent/journal", TRUE);
  journal = tsr_journal_begin ("qemu:///system", "create", "x");
  g_assert_nonnull (journal);
  tsr_journal_reservation (journal, "tessera", "52:54:00:00:00:0e");
  tsr_journal_add_inflight (macs);
  g_assert_true (g_hash_table_contains (macs, "52:54:00:00:00:0e"));
  tsr_journal_end (journal);
  g_setenv ("TESSERA_JOURNAL_DIR", dir, TRUE);
}

int
main (int    argc,
      char **argv)
{
  int ret;

  g_test_init (&argc, &argv, NULL);
  dir = g_dir_make_tmp ("tessera-journal-XXXXXX", NULL);
  g_setenv ("TESSERA_JOURNAL_DIR", dir, TRUE);

  g_test_add_func ("/journal/round-trip", test_round_trip);
  g_test_add_func ("/journal/partial-line", test_partial_line);
  g_test_add_func ("/journal/dead-process", test_dead_process);
  g_test_add_func ("/journal/no-folder", test_no_folder);
  ret = g_test_run ();
  g_rmdir (dir);
  return ret;
}
