# topiary chart, written by topiary (plots/gnuplot).  Restyle freely, then re-run in this
# directory:   gnuplot ptb-dse-20x.gp
if (strstrt(GPVAL_TERMINALS, "pngcairo") > 0) {
    set terminal pngcairo size 960,540 noenhanced
} else {
    set terminal png size 960,540 noenhanced
}
set output "ptb-dse-20x.png"
set datafile separator "\t"
set grid
set key below
set title "design space: latency vs area proxy (24 on the Pareto front)"
set xlabel "area proxy (mm2: PEs + SRAM)"
set ylabel "latency per step (us)"
set logscale y
plot "ptb-dse-20x.data.tsv" index 0 using 1:2 with linespoints pointtype 7 pointsize 0.8 linewidth 2 title "all designs (300)", \
     '' index 1 using 1:2 with lines linewidth 2 title "Pareto front", \
     '' index 2 using 1:2 with points pointtype 9 pointsize 2.5 title "chosen: 32x128, 128 KiB, 25.6 GB/s, 700 MHz"
