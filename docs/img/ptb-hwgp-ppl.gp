# PTB Zaremba-small: test perplexity against non-zero parameters and per-token latency (README,
# "Hardware-guided grow-and-prune on PTB, 20x"; AMD EPYC, whole model, batch 1, 2 threads through the
# runtime).  Re-run in this directory:   gnuplot ptb-hwgp-ppl.gp
if (strstrt(GPVAL_TERMINALS, "pngcairo") > 0) {
    set terminal pngcairo size 960,540 noenhanced
} else {
    set terminal png size 960,540 noenhanced
}
set output "ptb-hwgp-ppl.png"
set datafile separator "\t"
set grid
set key off
set multiplot layout 1,2
set title "test perplexity vs non-zeros"
set xlabel "non-zero parameters"
set ylabel "test ppl"
set logscale x
set xrange [150000:8000000]
set yrange [95:160]
plot "ptb-hwgp-ppl.data.tsv" every ::1 using 1:2 with points pointtype 7 pointsize 1.5, \
     '' every ::1 using 1:2:4 with labels offset 0,1 font ",8"
set title "test perplexity vs per-token latency (2 threads)"
set xlabel "us per token"
unset logscale x
set xrange [0:100]
plot "ptb-hwgp-ppl.data.tsv" every ::1 using 3:2 with points pointtype 7 pointsize 1.5, \
     '' every ::1 using 3:2:4 with labels offset 0,1 font ",8"
unset multiplot
