# topiary chart, written by topiary (plots/gnuplot).  Restyle freely, then re-run in this
# directory:   gnuplot ppl.gp
if (strstrt(GPVAL_TERMINALS, "pngcairo") > 0) {
    set terminal pngcairo size 960,540 noenhanced
} else {
    set terminal png size 960,540 noenhanced
}
set output "ppl.png"
set datafile separator "\t"
set grid
set key below
set title "perplexity \"quoted\" \\ back"
set xlabel "step"
set ylabel "ppl"
set logscale y
set yrange [10:]
set arrow from 350, graph 0 to 350, graph 1 nohead dashtype 2 linecolor rgb "gray40"
set label "target" at 350, graph 0.97 offset character 0.5, 0 textcolor rgb "gray30"
# series 2 (never measured) has no data
plot "ppl.data.tsv" index 0 using 1:2 with lines linewidth 2 title "train_ppl", \
     '' index 1 using 1:2 with lines linewidth 2 title "valid_ppl", \
     '' index 2 using 1:2 with points pointtype 9 pointsize 2.5 title "hysteresis"
