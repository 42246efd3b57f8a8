# topiary chart, written by topiary (plots/gnuplot).  Restyle freely, then re-run in this
# directory:   gnuplot ptb-agp80-ppl.gp
if (strstrt(GPVAL_TERMINALS, "pngcairo") > 0) {
    set terminal pngcairo size 960,540 noenhanced
} else {
    set terminal png size 960,540 noenhanced
}
set output "ptb-agp80-ppl.png"
set datafile separator "\t"
set grid
set key below
set title "perplexity"
set xlabel "step"
set ylabel "ppl"
set logscale y
plot "ptb-agp80-ppl.data.tsv" index 0 using 1:2 with lines linewidth 2 title "train_ppl", \
     '' index 1 using 1:2 with lines linewidth 2 title "valid_ppl"
