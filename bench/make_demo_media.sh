#!/bin/sh
# Builds the bundled demo media: a 90 s MP4 for demo-auto and an HLS clip for demo-live.
set -eu
out=${1:-static/demo}
mkdir -p "$out/hls"
ffmpeg -loglevel error -y -f lavfi -i "smptebars=size=640x360:rate=10" \
  -f lavfi -i "sine=frequency=330:sample_rate=22050" -t 90 \
  -vf "drawbox=x=0:y=300:w=640*t/90:h=12:color=white@0.9:t=fill,drawtext=text='Demo webinar  %{pts\:hms}':x=20:y=250:fontsize=30:fontcolor=white:box=1:boxcolor=black@0.6" \
  -c:v libx264 -profile:v baseline -preset veryslow -crf 34 -pix_fmt yuv420p -g 50 \
  -c:a aac -b:a 16k -ac 1 -movflags +faststart "$out/auto.mp4"
ffmpeg -loglevel error -y -i "$out/auto.mp4" -c copy -f hls -hls_time 6 -hls_list_size 0 \
  -hls_playlist_type vod -hls_segment_filename "$out/hls/seg%02d.ts" "$out/hls/index.m3u8"
