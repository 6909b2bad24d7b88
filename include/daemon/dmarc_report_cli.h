/*
 * dmarc_report_cli.h - `gatehouse dmarc-report`: aggregate reports
 * (RFC 9990) from dmarc_report_db
 *
 *   gatehouse dmarc-report [-c FILE] [--since T] [--until T]
 *                          [--out DIR | --send] [--dns-fixture FILE]
 *
 * The period is [since, until): T is YYYY-MM-DD, YYYY-MM-DDTHH:MM[:SS][Z]
 * (UTC) or seconds since the epoch; without them, the previous full UTC
 * day; --since alone ends at today's 00:00 UTC (or now, when it starts
 * today); --until alone starts a day before it. Records older than dmarc_report_max_age are deleted first. --out
 * writes one RFC 9990 file per policy domain into DIR (the same period
 * gives the same files: a rerun overwrites them with identical bytes);
 * --send mails each report to its verified rua= addresses through
 * dmarc_report_sendmail -t -oi, once: a sent report is remembered in the
 * store and not sent again. Without either, it lists what it would write.
 *
 * Exit status: 0 done; 1 a report could not be written or sent (the rest
 * were; a rerun retries the unsent); 2 the configuration or the store
 * failed; 64 usage.
 */
#ifndef DMARC_REPORT_CLI_H
#define DMARC_REPORT_CLI_H

/* dmarc_report_main - ARGV[0] is "dmarc-report"; returns the exit status */
int dmarc_report_main(int argc, char **argv);

#endif
