# PTB Zaremba-small: test perplexity against non-zero parameters and per-token latency (README,
# "Weight tying at 20x"; Intel Xeon @ 2.80GHz, whole model, batch 1, 2 threads through the
# runtime).  Re-run in this directory:   gnuplot ptb-tied-xeon.gp
if (strstrt(GPVAL_TERMINALS, "pngcairo") > 0) {
    set terminal pngcairo size 960,540 noenhanced
} else {
    set terminal png size 960,540 noenhanced
}
set output "ptb-tied-xeon.png"
set datafile separator "\t"
set grid
set key off
set multiplot layout 1,2
set title "test perplexity vs non-zeros"
set xlabel "non-zero parameters"
set ylabel "test ppl"
set logscale x
set xrange [150000:8000000]
set yrange [95:155]
plot "ptb-tied-xeon.data.tsv" every ::1 using 1:2 with points pointtype 7 pointsize 1.5, \
     '' every ::1 using 1:2:4 with labels offset 0,1 font ",8"
set title "test perplexity vs per-token latency (2 threads)"
set xlabel "us per token"
unset logscale x
set xrange [0:320]
plot "ptb-tied-xeon.data.tsv" every ::1 using 3:2 with points pointtype 7 pointsize 1.5, \
     '' every ::1 using 3:2:4 with labels offset 0,1 font ",8"
unset multiplot
