"""Non-English post templates, by language and broad topic (same slot and condition syntax as texts.py).

A post in another language picks its template by the broad topic of its
category (:data:`TOPIC_OF`); a topic a language lacks falls back to English.
"""

from __future__ import annotations

from pipeline.sample.texts import lines

TOPIC_OF = {
    "hype": "hype",
    "cannot_join": "join",
    "errors": "join",
    "capacity": "join",
    "audio_quality": "audio",
    "muted": "audio",
    "app_crash": "crash",
    "late_start": "delay",
    "blame_owner": "blame",
    "blame_company": "blame",
    "ddos_believer": "ddos",
    "ddos_skeptic": "ddos",
    "mockery": "joke",
    "melting": "joke",
    "leaving": "leaving",
    "defender": "defender",
    "news": "news",
    "talk": "talk",
    "reschedule": "delay",
}
"""Which broad topic each category's non-English posts are about."""

TEMPLATES: dict[str, dict[str, tuple[str, ...]]] = {
    "es": {
        "hype": lines("""
            ¡Esta noche {host} y {guest} en {product}! No me lo pierdo
            Listo para escuchar a {guest} con {host} a las {sched}
            Hoy es el Space del año, ¿quién más se conecta?
        """),
        "join": lines("""
            No puedo entrar al Space, se queda cargando
            ¿Alguien más no puede entrar al Space de {host} y {guest}?
            Intenté entrar mil veces y nada
            No carga el Space. ¿Soy yo o es {platform}?
            Imposible conectarse al Space
        """),
        "audio": lines("""
            El audio se corta a cada rato
            No se escucha nada bien, el audio está fatal
            Se oye como robot jaja
        """),
        "crash": lines("""
            Se me cerró la app al intentar entrar al Space
            {platform} se cae cada vez que abro el Space
        """),
        "delay": lines("""
            [after:scheduled] Ya son las {clock} y no empieza nada
            [after:scheduled] Llevamos {late} minutos esperando
        """),
        "blame": lines("""
            {host} despidió a todos los ingenieros y pasa esto
            Qué vergüenza, {platform} no puede con una transmisión en vivo
            Spaces nunca funciona cuando importa
        """),
        "ddos": lines("""
            [after:statement] ¿Ataque DDoS? Claro que sí, {host}
            [after:statement] Dicen que es un ataque DDoS. Ajá.
            [after:statement] Atacaron {platform} para que no hable {guest}
        """),
        "joke": lines("""
            Spaces está completamente roto jajaja
            jajajaja no funciona nada
            El Space más exclusivo del mundo: no entra nadie
        """),
        "leaving": lines("""
            Lo estoy viendo en YouTube, ahí sí funciona
            Me voy a {alt}, esto no sirve
        """),
        "news": lines("""
            [only:aug2024] [after:statement] ÚLTIMA HORA: {host} dice que {platform} sufre un ataque DDoS masivo antes de la entrevista con {guest} {link}
            Problemas técnicos retrasan la conversación entre {host} y {guest} en {platform} {link}
        """),
        "talk": lines("""
            [after:start] Por fin funciona. Escuchando a {guest}
            [after:start] Ya empezó, con {late} minutos de retraso
        """),
        "defender": lines("""
            Es el Space más grande de la historia, es normal que haya fallos
        """),
    },
    "pt": {
        "hype": lines("""
            Ansioso pro Space de hoje com {host} e {guest}!
            Hoje às {sched} tem {host} e {guest} ao vivo, não perco
        """),
        "join": lines("""
            Não consigo entrar no Space
            Alguém conseguiu entrar no Space? Aqui só fica carregando
            O Space não abre de jeito nenhum
        """),
        "audio": lines("""
            O áudio está cortando toda hora
            Som horrível, não dá pra entender nada
        """),
        "crash": lines("""
            O app fechou sozinho quando tentei entrar
            O {platform} travou meu celular kkkk
        """),
        "delay": lines("""
            [after:scheduled] Já são {clock} e nada de começar
            [after:scheduled] {late} minutos de atraso, sério?
        """),
        "blame": lines("""
            {host} demitiu todo mundo e agora isso
            Vergonha, o {platform} não aguenta uma live
        """),
        "ddos": lines("""
            [after:statement] Ataque DDoS? Sei...
            [after:statement] Culpar um ataque DDoS é a desculpa mais velha que existe
        """),
        "joke": lines("""
            kkkkkk o Spaces quebrou todo
            kkkkkkkkk que vexame
            O Space mais exclusivo do mundo, ninguém entra kkkk
        """),
        "leaving": lines("""
            Vou assistir no YouTube, aqui não funciona
            Desisti, vou pro {alt}
        """),
        "news": lines("""
            [only:aug2024] [after:statement] URGENTE: {host} diz que o {platform} sofre ataque DDoS antes de conversa com {guest} {link}
            Falhas técnicas atrasam conversa de {host} e {guest} no {platform} {link}
        """),
        "talk": lines("""
            [after:start] Finalmente começou
            [after:start] Agora funcionou, ouvindo {guest}
        """),
    },
    "de": {
        "hype": lines("""
            Heute Abend {host} und {guest} live auf {product}, bin gespannt
            Um {sched} geht's los, wer hört mit?
        """),
        "join": lines("""
            Komme nicht in den Space rein, lädt ewig
            Kann dem Space nicht beitreten. Geht das bei euch?
            Space lädt nicht. Nur ein Drehkreisel
        """),
        "audio": lines("""
            Der Ton bricht ständig ab
            Tonqualität wie ein Telefonat von 1995
        """),
        "crash": lines("""
            App stürzt jedes Mal ab, wenn ich den Space öffne
        """),
        "delay": lines("""
            [after:scheduled] Schon {late} Minuten Verspätung
            [after:scheduled] Es ist {clock} und nichts passiert
        """),
        "blame": lines("""
            {host} hat die halbe Belegschaft gefeuert und wundert sich jetzt
            {platform} schafft nicht mal einen Livestream
        """),
        "ddos": lines("""
            [after:statement] DDoS-Angriff? Na klar.
            [after:statement] Die DDoS-Ausrede glaubt doch keiner
        """),
        "joke": lines("""
            Spaces ist komplett kaputt 😂
            Der exklusivste Space der Welt: keiner kommt rein
        """),
        "leaving": lines("""
            Schaue es jetzt auf YouTube
            Ich geb auf, gehe zu {alt}
        """),
        "news": lines("""
            [only:aug2024] [after:statement] EILMELDUNG: {host} spricht von massivem DDoS-Angriff auf {platform} {link}
            Technische Probleme bei Gespräch von {host} und {guest} auf {platform} {link}
        """),
        "talk": lines("""
            [after:start] Endlich läuft es
        """),
    },
    "fr": {
        "hype": lines("""
            Ce soir {host} reçoit {guest} sur {product}, j'ai hâte
            Rendez-vous à {sched} pour le Space de {host} et {guest}
        """),
        "join": lines("""
            Impossible de rejoindre le Space
            Quelqu'un arrive à entrer dans le Space ? Chez moi ça tourne dans le vide
            Le Space ne charge pas du tout
        """),
        "audio": lines("""
            Le son coupe toutes les dix secondes
            On n'entend rien, le son est horrible
        """),
        "crash": lines("""
            L'appli plante dès que j'ouvre le Space
        """),
        "delay": lines("""
            [after:scheduled] Déjà {late} minutes de retard
            [after:scheduled] Il est {clock} et toujours rien
        """),
        "blame": lines("""
            {host} a viré la moitié des ingénieurs, et voilà le résultat
            {platform} n'est même pas capable de gérer un direct
        """),
        "ddos": lines("""
            [after:statement] Une attaque DDoS, bien sûr... 🙄
            [after:statement] L'excuse de l'attaque DDoS, sérieusement ?
        """),
        "joke": lines("""
            Spaces complètement en panne mdr
            Le Space le plus exclusif du monde : personne ne peut entrer
        """),
        "leaving": lines("""
            Je regarde sur YouTube, ça marche mieux
        """),
        "news": lines("""
            [only:aug2024] [after:statement] URGENT : {host} évoque une « attaque DDoS massive » contre {platform} {link}
            Problèmes techniques pour la conversation entre {host} et {guest} sur {platform} {link}
        """),
        "talk": lines("""
            [after:start] Enfin ça marche
        """),
    },
    "ja": {
        "hype": lines("""
            今夜の{host}と{guest}のスペース楽しみ
            {sched}からスペース始まるらしい
        """),
        "join": lines("""
            スペースに入れない…
            スペース全然つながらないんだけど
            何回やっても参加できない
        """),
        "audio": lines("""
            音声が途切れまくってる
            音がロボットみたいになってる
        """),
        "crash": lines("""
            アプリが落ちた
            スペース開くたびにアプリが落ちる
        """),
        "delay": lines("""
            [after:scheduled] もう{late}分遅れてる
        """),
        "blame": lines("""
            エンジニア解雇しすぎたせいでしょこれ
        """),
        "ddos": lines("""
            [after:statement] DDoS攻撃って本当？
            [after:statement] DDoSのせいにするのは草
        """),
        "joke": lines("""
            スペース完全に壊れてて草
            誰も入れないスペースｗｗｗ
        """),
        "leaving": lines("""
            YouTubeで見ることにした
        """),
        "news": lines("""
            [only:aug2024] [after:statement] 【速報】{host}氏、{platform}に「大規模なDDoS攻撃」と投稿 {link}
            {platform}のスペースで障害、多くのユーザーが参加できず {link}
        """),
        "talk": lines("""
            [after:start] やっと始まった
        """),
    },
    "it": {
        "join": lines("""
            Non riesco a entrare nello Space
            Lo Space non si carica, qualcuno ci è riuscito?
        """),
        "audio": lines("""
            L'audio salta di continuo
        """),
        "ddos": lines("""
            [after:statement] Attacco DDoS? Certo, come no
        """),
        "joke": lines("""
            Spaces completamente rotto 😂
        """),
        "talk": lines("""
            [after:start] Finalmente è partito
        """),
    },
}
"""Templates by language code (BCP 47, as X and Mastodon report it) and broad topic."""

PLAIN_FILLERS = {
    "platform": {"aug2024": ("X", "X", "Twitter"), "may2023": ("Twitter",)},
    "product": {"aug2024": ("Spaces", "X Spaces"), "may2023": ("Twitter Spaces", "Spaces")},
    "host": {"aug2024": ("Elon", "Musk", "Elon Musk"), "may2023": ("Elon", "Musk", "Elon Musk")},
    "guest": {"aug2024": ("Trump", "Donald Trump"), "may2023": ("DeSantis", "Ron DeSantis")},
}
"""English slang fillers ("the bird app") read oddly inside other languages; these replace them there."""

LANGUAGE_WEIGHTS = (("en", 910), ("es", 30), ("pt", 20), ("de", 12), ("fr", 12), ("ja", 10), ("it", 6))
"""How often a user writes in each language (per mille): about 9 % of posts are not English."""
