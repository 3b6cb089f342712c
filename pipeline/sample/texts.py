"""English post templates and the slot fillers they draw from.

A template is one line of text with ``{slot}`` placeholders, optionally prefixed
by conditions in brackets:

- ``[only:aug2024]`` / ``[only:may2023]``: used only for that incident;
- ``[after:EVENT]`` / ``[before:EVENT]``: used only after / before an event of
  the incident (``scheduled``, ``statement``, ``reschedule``, ``start``, ``end``).

Slots are filled from :data:`FILLERS`, overridden per incident by
:data:`INCIDENT_FILLERS`; ``clock`` (the post's time, ET), ``late`` (minutes past
the scheduled start), ``minutes`` and ``link`` are computed when the post is made, and so is ``until`` (minutes to the scheduled start).
"""

from __future__ import annotations


def lines(block: str) -> tuple[str, ...]:
    """The non-blank lines of a block, stripped."""
    return tuple(line.strip() for line in block.strip().splitlines() if line.strip())


HYPE = lines("""
[before:scheduled] Can't wait for {event} tonight
[before:scheduled] Who else is tuning in to {event} at {sched}?
[before:scheduled] Setting an alarm for {sched}. {event} is gonna be historic
[before:scheduled] {host} and {guest} live on {product} tonight. This is going to break the internet
[before:scheduled] Reminder: {event} at {sched}. Set a reminder on the Space
[before:scheduled] Biggest {product} ever tonight? {tag}
[before:scheduled] Got my headphones ready for {event}
[before:scheduled] Popcorn ready. {event} in {until} minutes
[before:scheduled] Whatever you think of them, {event} is must-listen tonight
[before:scheduled] Gonna listen to {event} on my drive home
[before:scheduled] {until} minutes until {event}. the lobby is already filling up
[before:scheduled] Hope {product} holds up tonight lol
[before:scheduled] Will {product} survive {event}? we'll find out at {sched}
[before:scheduled] Streaming {event} at {sched} on my channel with live commentary
[before:scheduled] Just set a reminder for {event} {tag}
[before:scheduled] Can someone share the link to {event}?
[before:scheduled] Is {event} still happening at {sched}?
[before:scheduled] Tonight at {sched}: {host} x {guest}. Don't miss it
[before:scheduled] Everyone at work is talking about {event}. Tuning in
[before:scheduled] The Space already has a crazy number of people waiting
[before:scheduled] Cooking dinner early so I can catch {event} at {sched}
[before:scheduled] This is what {product} was built for. {event} tonight
[before:scheduled] Gonna be the most listened to Space ever
[before:scheduled] Taking bets on how long {event} goes. I say 2 hours
[before:scheduled] Getting the whole family around the phone for {event} lol
[before:scheduled] my group chat is all about {event} rn
[before:scheduled] Ok who's hosting a watch party for {event}
[before:scheduled] Hearing {guest} unfiltered for once, can't wait {tag}
[before:scheduled] Everybody get in the Space early, it's going to be packed
[before:scheduled] The media is losing it over {event} and it hasn't even started
[after:scheduled] Here we go! {event} {tag}
[after:scheduled] It's time. Tuning in to {event}
[after:scheduled] [before:start] Still excited, whenever it actually starts
[after:start] Most listened to Space ever, and it's not close
[after:start] Great conversation so far {tag}
[after:start] Everyone I know is listening to this right now
[only:aug2024] [before:scheduled] They say they tested with {big_number} listeners, so no excuses tonight
[only:may2023] [before:scheduled] Announcing a presidential run on {product}? Bold. Tuning in
[only:may2023] [before:scheduled] Wild that a campaign launch is happening on a Twitter Space
""")

CANNOT_JOIN = lines("""
Can't join {event}. it {fail}
I can't get into the Space, it {fail}
Tried to join {tries} and it {fail}
Is anyone actually able to get into {event}?
{product} won't let me in. Anyone else?
The Space {fail}
Stuck on 'connecting' for {minutes} minutes
Can't connect to {event} on {device} or {device}
Joining... joining... joining... nothing
Anyone else unable to join {event}?? it {fail}
Clicked join {tries}. Nothing. {product} is cooked
It says the Space is live but it won't load for me
Every time I tap the Space it {fail}
Not able to join {event} at all
Been trying to get into {event} since {sched}. no luck
Reinstalled the app and still can't join the Space
Cant join the space on {device} either
Nobody I know can get into {event}
'Connecting...' is the whole show apparently
Can't even find the Space anymore, it vanished from my feed
Tried wifi, tried 5G, tried {device}. Can't get in
Space link just takes me back to the home timeline
Is the Space even live? I can't get in
How are we supposed to listen if nobody can join
Three devices, zero working Spaces
My mom can't get in either and she has better wifi than me
Can't get into the Space, it {fail}. {host_at} fix your app
Logged out and back in. Still can't join {event}
""")

AUDIO_QUALITY = lines("""
Audio keeps cutting out on {event}
I got in but the audio is breaking up every few seconds
Sounds like they're talking through a tin can
Audio is choppy af
The audio is lagging like {minutes} seconds behind
Finally in and now the audio keeps dropping
Is it just me or does {host} sound like a robot
The echo on the Space is unbearable
Can barely understand anything, audio is garbage
Constant buffering on the Space
The sound keeps skipping. Unlistenable
Static and feedback on the Space
Half of every sentence is missing
Audio quality on {product} is worse than a 1998 phone call
The audio keeps stuttering, I've heard every word three times
Sounds like they're underwater
Audio goes in and out every 10 seconds
Robot voice mode activated on {product}
[only:may2023] The feedback noise is killing me
[only:may2023] That screeching feedback. my ears
[only:may2023] Nonstop echo and feedback on the launch Space
""")

APP_CRASH = lines("""
The app crashed when I tried to join the Space
{platform} keeps crashing every time I open the Space
App just closed itself {tries}
{platform} app froze and crashed. Restarted {tries}
Crashed my whole phone lol
App crash on {device} the moment I tap join
The Space crashed and kicked everyone out
Every time I try to listen the app force closes
{platform} is crashing for me, can't even scroll
Got kicked out of the Space and now it won't let me back in
Opened the Space, app crashed, reopened, app crashed again
The app has crashed {tries} in the last ten minutes
{platform} froze my {device} solid
Tapping the Space = instant crash
[only:may2023] The Space just crashed. Everyone got kicked
[only:may2023] Got booted from the Space {tries}
""")

LATE_START = lines("""
[after:scheduled] It's {clock} and the Space still hasn't started
[after:scheduled] Still waiting for {event} to start...
[after:scheduled] {late} minutes late and counting
[after:scheduled] Was supposed to start at {sched}. It's now {clock}.
[after:scheduled] How long are we supposed to wait for this
[after:scheduled] So is this starting or not
[after:scheduled] Waited {late} minutes. Giving up soon
[after:scheduled] Delay after delay
[after:scheduled] Scheduled for {sched}, still nothing at {clock}
[after:scheduled] Any update on when {event} actually starts?
[after:scheduled] {late} minutes of nothing. Great
[after:scheduled] At this point I'll be asleep before it starts
[after:scheduled] Been sitting here since {sched} like an idiot
[after:start] Starting {late} minutes late is embarrassing
[after:start] It started but {late} minutes late. come on
""")

CAPACITY = lines("""
Guess {product} can't handle {audience} people
Maybe don't host the biggest event of the year on {product} if it can't scale
Servers can't take the load. Who could've predicted that
You'd think they'd spin up more servers for this
The Space is full? Spaces have a listener cap??
Capacity planning is hard I guess
Too many people trying to get in, {product} just gave up
{product} is melting under the load
Turns out you can't fire most of your engineers and scale live audio
Load testing? Never heard of it
Apparently {audience} listeners is too many for {product}
Someone forgot to add servers
[only:aug2024] They tested with {big_number} concurrent listeners and it can't handle this?
[only:aug2024] So much for {big_number}
[only:aug2024] '{big_number} concurrent listeners' my ass
[only:may2023] Twitter can't handle a few hundred thousand people listening to a politician
[only:may2023] Listener count went from 600k to 40k lol
""")

ERRORS = lines("""
Getting 'Rate limit exceeded' when I try to join
Now it says I'm rate limited?? I haven't even posted
Error after error. 'Something went wrong. Try reloading.'
Got a 503 trying to load the Space
Can't even load my timeline now, rate limited
'This Space is unavailable' on {device}
Whole app throwing errors, can't load anything
Error code on the Space, then nothing
Refresh, error. Refresh, error
'Something went wrong, but don't fret' ok {platform}
Getting 'Try again later' every single time
Rate limited for trying to listen to a Space. incredible
""")

MUTED = lines("""
I'm in but I can't hear anyone
The Space shows {host} speaking but there's no sound
Can't hear {guest} at all, just silence
Hosts are muted for me?? Is it live or not
It shows the speaker ring moving but I hear nothing
Dead air for {minutes} minutes
Listening to silence on {product}
Is {guest} muted or is it my app
No sound at all on {device}. volume is all the way up
Speakers show as talking, I hear nothing
""")

BLAME_OWNER = lines("""
{host} had one job
This is on {host}. Fired half the engineers and now this
{host_at} maybe hire back the people who knew how servers work
Imagine being the richest man in the world and your app can't host a phone call
{host} really embarrassed {guest} tonight
{host} bought a $44B company to host a broken Space
Nice one {host}. Really showing off the platform
{host} is going to blame everyone but himself for this
Not {host} fumbling the biggest night {platform} has had
{host} should stick to rockets
{host} fired the people who kept this running and it shows
This is what happens when the CEO runs the app like a toy
{host} promised the world and delivered a loading spinner
Free speech absolutist, zero speech delivered
{host_at} your app is broken
{host} owes {guest} an apology lol
The richest man alive and he can't keep a Space up
""")

BLAME_COMPANY = lines("""
{platform} can't do live audio. Never could
{product} has been janky for years
This is why nobody takes {product} seriously
{platform} engineering is a skeleton crew at this point
{product} is a beta product and it shows
A platform this size should not fall over like this
{platform} is a mess tonight
How is {product} still this unreliable
{product} is broken again
Why is {product} always like this
{product} was never built for this kind of crowd
Every big Space does this. Every single time
Clubhouse worked better in 2021 and that's saying something
{platform} ships features, never fixes them
The app is held together with tape
""")

DDOS_BELIEVER = lines("""
[after:statement] Of course they're getting DDoSed. Someone doesn't want this heard
[after:statement] DDoS attack on {platform} right as {guest} goes live. Coincidence?
[after:statement] They're so scared of this conversation they DDoSed {platform}
[after:statement] Massive DDoS attack confirmed. They are terrified
[after:statement] Whoever is behind this DDoS should be found and prosecuted
[after:statement] They attacked {platform} to stop {guest} from talking. Wow
[after:statement] A DDoS on {platform} tonight of all nights. Not a coincidence
[after:statement] Praying the engineers beat the DDoS
[after:statement] The DDoS proves how much they fear free speech
[after:statement] Someone spent serious money on this DDoS tonight
[after:statement] Hang in there {host}, don't let the DDoS win
[before:statement] Is this a DDoS? Nothing loads
[before:statement] Feels like {platform} is under attack right now
""")

DDOS_SKEPTIC = lines("""
[after:statement] 'DDoS attack' lmao sure
[after:statement] There was no DDoS. Your servers just can't handle it
[after:statement] DDoS = Didn't Do Our Scaling
[after:statement] The DDoS was coming from inside the house
[after:statement] Blaming a DDoS is the oldest excuse in the book
[after:statement] Funny how the rest of {platform} works fine during this 'massive DDOS attack'
[after:statement] If it was a DDoS the whole site would be down, not just the Space
[after:statement] A DDoS is when a lot of people want to listen to your thing, apparently
[after:statement] Calling your own users a DDoS is a choice
[after:statement] Security people are side-eyeing the DDoS claim hard
[after:statement] Network engineers everywhere laughing at the DDoS excuse
[after:statement] Source: trust me bro. 'massive DDOS attack'
[after:statement] 'DDoS' is a funny way to spell 'we didn't load test'
[after:statement] Sure it's a DDoS. And my dog ate my homework
[after:statement] The only DDoS tonight was the audience
[after:statement] Imagine getting DDoSed by your own fans
""")

MOCKERY = lines("""
{product} entirely broken on its biggest night
Best audio event of the year: silence
The Space is so exclusive not even the hosts can get in
{product} said 'not tonight'
Imagine planning this for weeks and forgetting to test the audio
This is the most {platform} thing that could've happened
Zoom call would've been fine honestly
They should've just done it on a conference call line
Somebody unplug the router and plug it back in
Have you tried turning {platform} off and on again
{product} in shambles
Historic night: the night {product} died
Me refreshing the Space every 10 seconds
Waiting for {event} like waiting for GTA 6
Can't wait to listen to this in 2027 when it loads
Dial-up had better uptime
A podcast in a garage has better streaming than this
The loading spinner is the real guest tonight
Not the Space turning into a waiting room simulator
This is a hostage situation with a loading screen
Tech support: 'have you tried not hosting the biggest Space ever'
Ah yes, the everything app where nothing works
Engineers at {platform} tonight: 'this is fine'
Somebody check on the one engineer left at {platform}
{product} speedrunning an outage any%
Would've been faster to drive to their house and listen through the window
[only:aug2024] {big_number} concurrent listeners (in the simulation)
[only:aug2024] 'tested with {big_number} listeners' and the {big_number} were bots
[only:aug2024] They tested with 8 million. Just not 8 million people
[only:may2023] Failure to launch
[only:may2023] #DeSaster is trending for a reason
[only:may2023] Launching a campaign like it's a SpaceX rocket. Exploded on the pad
[only:may2023] The servers are melting lol
[only:may2023] A campaign launch where nobody can hear the candidate. Peak 2023
[only:may2023] The 'this link works' replies are killing me
""")

LEAVING = lines("""
Giving up on {product}, watching on {alt} instead
{alt} has a stream of it that actually works
Someone is restreaming it on {alt}, go there
Switched to {alt}. {product} is hopeless
Just listen on {alt}, it's working there
Done with this app. Going to bed
I'll wait for the recording on {alt}
Reason #482 I moved to Bluesky
Listening to the restream on {alt}, at least it works
Closing the app and putting on {alt}
Bye, going to {alt} where things load
Uninstalling {platform} tonight for real
""")

DEFENDER = lines("""
It's the biggest Space ever, of course there are hiccups
People complaining about a free service lol
Give the engineers a break, this is unprecedented traffic
Legacy media would kill for this audience
Every platform would struggle with this. Stop crying
They'll fix it. Relax
Haters are loving this but it's still the most listened Space ever
Still better than anything on cable news tonight
Mad respect to the engineers working through this
It's working fine for me on {device}
Worth the wait. Patience people
No other platform would even let this conversation happen
[after:scheduled] [before:start] Imagine being this mad about a {late} minute delay
""")

NEWS = lines("""
[before:scheduled] {host} to interview {guest} live on {platform} at {sched} {link}
[before:scheduled] What to expect from {event} tonight {link}
[before:scheduled] How to listen to {event} {link}
[after:scheduled] BREAKING: {event} on {platform} hit by technical problems {link}
[after:scheduled] {event} plagued by technical issues; many users unable to join {link}
[after:scheduled] Users report problems joining {event} on {platform} {link}
[after:scheduled] Outage tracking sites show a spike in {platform} problem reports {link}
[after:scheduled] LIVE UPDATES: {event} {link}
[after:statement] BREAKING: {host} says {platform} hit by 'massive DDOS attack' ahead of {event} {link}
[after:statement] {host} blames DDoS attack for {product} glitches {link}
[after:statement] Experts question {host}'s DDoS claim as {product} fails {link}
[after:reschedule] {host} says the conversation will go ahead with fewer listeners {link}
[after:start] JUST IN: {event} finally begins, {late} minutes late {link}
[after:start] {event} gets under way after outage delays start {link}
[after:end] {event} ends after technical delays and a rocky start {link}
[only:may2023] BREAKING: {guest}'s campaign launch on {product} marred by glitches {link}
[only:may2023] {guest} campaign launch derailed as {product} crashes {link}
[only:may2023] [after:start] Relaunched Space draws far fewer listeners {link}
""")

TALK = lines("""
[after:start] Finally in. {guest} is talking about {topic}
[after:start] It's working now, about time
[after:start] Audio is fine now for me
[after:start] {host} asking {guest} about {topic}
[after:start] Listening now. {guest} on {topic}
[after:start] Okay the Space is actually live now
[after:start] This conversation is going long
[after:start] Interesting take on {topic} from {guest}
[after:start] {host} barely getting a word in lol
[after:start] Finally working on {device}
[after:start] Whatever you think of the delay, the conversation on {topic} is worth a listen
[after:start] Half the country listening to a Space about {topic}
[after:start] Got in on the first try this time
[after:start] The audio is clear now. Only took {late} minutes
[after:end] Well that was something. {event} is over
[after:end] The Space just ended
[after:end] Recording of {event} is up if you missed it
[only:aug2024] [after:start] Listener count is climbing, over a million now
[only:may2023] [after:start] The restarted Space is working. Way fewer people though
""")

RESCHEDULE = lines("""
[after:reschedule] Now they say it starts at {new_time}. Sure
[after:reschedule] {new_time} with fewer listeners? So most of us just miss it
[after:reschedule] Fewer listeners at {new_time}, post the audio later. ok
[after:reschedule] Setting another alarm for {new_time} I guess
[after:reschedule] It's {clock}, is the {new_time} thing still happening
[after:reschedule] 'smaller number of concurrent listeners' lol
""")

MELTING = lines("""
Did they just say the servers are melting
'the servers are melting' is going to be a meme forever
Hearing 'the servers are melting' live on the launch is incredible
[after:start] The Space restarted on another account, go there
[after:start] They moved it to a new Space. Link anyone?
Twitter Spaces crashed during a presidential campaign launch. Incredible.
Listeners dropping like flies in the launch Space
""")

OFFTOPIC = lines("""
Two spaces after a period is a crime and I will die on this hill
Tabs vs spaces debate at work again today
Why does my code editor keep converting tabs to spaces
Found 3 parking spaces right by the entrance, today is my day
No parking spaces anywhere downtown tonight
The ISS passed over at {clock}, beautiful view. Space is amazing
Watching a documentary about outer space tonight
SpaceX launch scrubbed again
Finally finished reading The Expanse. Space operas are the best
X marks the spot
Malcolm X's autobiography is incredible, everyone should read it
Rewatching X-Men '97 tonight
Our new office has amazing green spaces
Safe spaces for kids to play are so important
File names with spaces will be the death of me
macOS Spaces keeps switching desktops on me
Uploaded the demo to Hugging Face Spaces
Moving our backups to DigitalOcean Spaces this weekend
Great Twitter space last week about indie game dev, thanks to everyone who joined
Hosting a Space tomorrow about gardening, come hang out
The negative space in this painting is so good
Kerning in this logo is off, the spaces between letters are all over the place
Pet peeve: no space between a number and its unit
My laptop crashed during the presentation lol
Our wifi is down again. third time this week
Space heater season is coming
The X Games were wild this year
My cat needs her own space tonight apparently
Crossword clue: 'final frontier' (5)
Interior designers please teach me how to use small spaces
Playing Dead Space again, still terrifying
The trailer for the new space movie looks great
Community garden spaces are opening up this fall
Why do trains have so little luggage space
""")

EMOJI_ONLY = lines("""
😂😂😂
💀
🤡🤡
🔥🔥🔥
😭😭
🍿
🙄
🤣🤣🤣🤣
💀💀💀
🫠
""")

HASHTAG_ONLY = lines("""
{tag} {tag}
{tag}
""")

COPYPASTA = {
    "aug2024": (
        "Can't join the Space. Tried 5 times. Anyone else?",
        "Spaces is down for everyone right now. It's not just you.",
        "Retweet if you couldn't get into the Space",
    ),
    "may2023": ("Twitter Spaces crashed during the DeSantis launch. You can't make this up.",),
}
"""Texts posted verbatim by several different accounts (copy-paste, not reposts)."""

LONG_POST_PARAGRAPHS = lines("""
I have been on this platform since 2009 and I want to explain, at length, why tonight was not a surprise to anyone who has been paying attention.
Live audio is hard. It is one of the hardest things you can do at scale, because every listener is a long-lived connection that has to be fed in real time.
When you cut the teams that understood the system, you do not notice on a quiet Tuesday. You notice on the biggest night of the year.
A load test is only as good as the traffic model behind it, and real people do not behave like a script: they all arrive in the same minute and they all retry.
Retries are the part nobody plans for. Every failed join becomes three more attempts, and the failure feeds itself until the whole thing falls over.
And then the statement comes out, and it is always an attack, never the plan, never the capacity, never the people who were let go.
""")
"""Paragraphs repeated into the one oversize post (over X's 25,000-character limit)."""

FILLERS: dict[str, tuple[str, ...]] = {
    "fail": (
        "just spins", "keeps spinning", "won't load", "says something went wrong", "kicks me out",
        "freezes", "shows a blank screen", "loads forever", "times out", "goes back to the timeline",
    ),
    "tries": ("3 times", "5 times", "ten times", "like 20 times", "over and over", "a dozen times", "twice"),
    "device": ("iPhone", "Android", "iPad", "the web app", "my laptop", "desktop", "my Pixel", "Chrome", "Safari"),
    "alt": ("Rumble", "YouTube", "Twitch", "Kick", "a YouTube restream", "Rumble", "YouTube"),
    "audience": ("a million", "a few hundred thousand", "this many", "half a million", "that many"),
    "tag": ("#Spaces", "#SpacesDown"),
}
"""Fillers every incident shares."""

INCIDENT_FILLERS: dict[str, dict[str, tuple[str, ...]]] = {
    "aug2024": {
        "host": ("Elon", "Musk", "Elon Musk", "elon", "Elon"),
        "host_at": ("@elonmusk",),
        "guest": ("Trump", "Donald Trump", "trump", "the former president", "Trump", "DJT"),
        "event": (
            "the Trump Space", "the Trump/Elon space", "the Elon x Trump interview", "the Spaces interview",
            "the big Space tonight", "the Trump interview on X", "tonight's Space", "the Musk-Trump Space",
        ),
        "product": ("Spaces", "X Spaces", "Twitter Spaces", "spaces", "Spaces"),
        "platform": ("X", "Twitter", "this app", "X", "the bird app"),
        "sched": ("8pm", "8:00", "8 ET", "8pm ET", "8 eastern"),
        "new_time": ("8:30", "830", "8:30 ET"),
        "big_number": ("8 million", "8M", "8 million"),
        "topic": (
            "the economy", "the border", "energy prices", "the assassination attempt", "inflation",
            "electric cars", "the election", "AI", "nuclear power", "the debate",
        ),
        "tag": (
            "#TrumpOnX", "#SpacesDown", "#XSpaces", "#Spaces", "#ElonTrump", "#TrumpMusk", "#XDown",
            "#DDoS", "#Trump", "#ElonMusk",
        ),
    },
    "may2023": {
        "host": ("Elon", "Musk", "Elon Musk", "elon"),
        "host_at": ("@elonmusk",),
        "guest": ("DeSantis", "Ron DeSantis", "Ron", "the governor", "DeSantis"),
        "event": (
            "the DeSantis launch", "the DeSantis announcement", "the campaign launch", "the DeSantis space",
            "Ron's launch on Twitter", "the 2024 announcement", "the launch Space",
        ),
        "product": ("Twitter Spaces", "Spaces", "Twitter Spaces", "spaces"),
        "platform": ("Twitter", "this app", "the bird app", "Twitter"),
        "sched": ("6pm", "6:00", "6 ET", "6pm ET"),
        "new_time": ("6:30",),
        "big_number": ("600k",),
        "topic": ("Florida", "the border", "his campaign", "COVID policy", "education", "crime", "Disney"),
        "tag": (
            "#DeSaster", "#DeSantis2024", "#DeSantisLaunch", "#TwitterSpaces", "#Spaces", "#RonDeSantis",
            "#TwitterDown", "#DeSantis",
        ),
    },
}
"""Incident-specific fillers; a key here replaces the shared one of the same name."""

PLATFORM_FILLERS: dict[str, dict[str, tuple[str, ...]]] = {
    "x": {},
    "bluesky": {"host_at": ("Elon", "Musk")},
    "mastodon": {"host_at": ("Elon", "Musk")},
}
"""Per-platform replacements: only X posts can @-mention X accounts."""

EMOJI = {
    "complaint": ("😤", "😡", "🙄", "😩", "🤬", "💀", "😭", "🤦‍♂️", "🤦‍♀️", "🤷", "😒", "😫"),
    "joke": ("😂", "🤣", "💀", "🤡", "🔥", "🍿", "😭", "🫠", "👀"),
    "hype": ("🔥", "🇺🇸", "🚀", "🎧", "🙌", "👀", "💯", "⚡"),
    "defender": ("💪", "🇺🇸", "🙏", "👏", "🚀"),
    "sad": ("😢", "😞", "💔", "😔"),
}
"""Emoji the roughening step appends, by mood."""

EXCLAIMS = ("lol", "lmao", "smh", "wow", "omg", "bruh", "ugh", "yikes", "ffs", "welp", "lmfao", "jfc", "sigh")
"""Interjections the roughening step puts before or after a post."""
